"""`cortex ingest-chats`: LibreChat exports pushed through `/v1/chats`, incrementally.

Reading an export is `librechat`; the pieces of a run are asking the gateway what it already
accepted (`checkpoint`), bounded posts (`plan`), calling the gateway with 429 and deadline
handling (`client`), progress and the summary (`progress`), and the run itself (`run`). May
import the shared contract (`common`'s own modules) and nothing else of the project: it talks
to the gateway over HTTP only.
"""
