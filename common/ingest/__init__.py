"""`cortex ingest-chats`: LibreChat exports pushed through `/v1/chats`, incrementally.

Reading is `common.librechat`; here are the pieces of a run: asking the gateway what it already
accepted (`checkpoint`), bounded posts (`plan`), calling the gateway with 429 and deadline
handling (`client`), progress and the summary (`progress`), and the run itself (`run`).
"""
