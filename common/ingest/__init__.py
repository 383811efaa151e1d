"""`cortex ingest-chats`: LibreChat exports pushed through `/v1/chats`, incrementally.

Reading is `common.librechat`; here are the pieces of a run: the checkpoint of what the gateway
accepted (`checkpoint`), bounded posts (`plan`), posting with 429 and deadline handling
(`client`), progress and the summary (`progress`), and the run itself (`run`).
"""
