"""The darkroom.v1 contract as Python stubs, generated from proto/ by the package build.

Only the package markers and media_types.py are tracked; the *_pb2*.py files are build
output (setup.py; scripts/gen-proto regenerates them in place after a .proto edit). Both
the server and the gateway import this package, and nothing else of each other.
"""
