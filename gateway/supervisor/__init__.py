"""``darkroom serve``: the gRPC server, the shim and Envoy run, watched and healed as one."""
