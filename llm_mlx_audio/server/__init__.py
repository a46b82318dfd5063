"""`llm audio serve`: OpenAI's audio API over the plugin's models (FastAPI, uvicorn).

app.py holds the endpoints, run.py the socket and uvicorn; nothing here loads FastAPI
until the server starts. Models are reached only through the registry.
"""

# The largest upload /v1/audio/transcriptions takes unless --max-upload-mb says otherwise.
DEFAULT_MAX_UPLOAD_MB = 25
# The longest decoded audio a transcription request may hold, unless --max-audio-minutes says.
DEFAULT_MAX_AUDIO_MINUTES = 240
# Requests waiting for the model beyond the running one, unless --max-queue says otherwise.
DEFAULT_MAX_QUEUE = 32
# The longest speech input one request takes: OpenAI's limit, which its clients expect.
# This machine's own `llm speak` makes longer texts itself rather than send them.
MAX_SPEECH_INPUT = 4096
