"""The darkroom.v1 contract: the only thing the server and the gateway share.

``darkroom/v1`` holds the Python stubs generated from proto/ by the package build
(setup.py; scripts/gen-proto regenerates them in place after a .proto edit; they are not
tracked) and media_types.py, the MIME table both sides announce and serve.
"""
