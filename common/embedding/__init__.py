"""The embedding backends: the Ollama client every process uses, and the development stand-in.

`client` is the `Embedder` protocol and its Ollama adapter (`/api/embed`, a fixed thread
count per call). `devembedder` serves Ollama's API (`devapi`) with word-hash vectors
(`wordhash`) for development and tests; it is not a model and says so. May import the shared
contract (`common`'s own modules) and nothing else of the project.
"""
