"""OpenAI's Realtime API over a WebSocket at /v1/realtime (issue 24).

    settings.py      session.update (GA and beta spellings) -> Settings
    input_audio.py   the input audio buffer: pcm16 in, VAD, utterances out
    session.py       one socket: client events in order, transcriptions in order
    events.py        server events and ids
    route.py         the /v1/realtime route, its session limit and subprotocols

The key check (server/auth.py) and the Host/Origin guard (server/browser_guard.py)
run before the handshake is answered, as for every HTTP route.
"""
