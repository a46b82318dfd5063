"""`llm audio serve`: OpenAI's audio API over the plugin's models (FastAPI, uvicorn).

app.py holds the endpoints, run.py the socket and uvicorn; nothing here loads FastAPI
until the server starts. Models are reached only through the registry.
"""

# The largest upload /v1/audio/transcriptions takes unless --max-upload-mb says otherwise.
DEFAULT_MAX_UPLOAD_MB = 25
# Requests waiting for the model beyond the running one, unless --max-queue says otherwise.
DEFAULT_MAX_QUEUE = 32
