"""The embedding backends: the Ollama client every process uses, and what `cortex embedder` serves.

`client` is the `Embedder` protocol and its Ollama adapter (`/api/embed`, a fixed thread
count per call). `modelserver` serves the real all-MiniLM-L6-v2 model (`minilm`, int8 ONNX,
offline, thread-capped) over Ollama's API (`devapi`, served by `serving`); `devembedder`
serves word-hash vectors (`wordhash`) as a test double: it is not a model and says so. May
import the shared contract (`common`'s own modules) and nothing else of the project.
"""
