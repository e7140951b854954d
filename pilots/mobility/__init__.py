"""Reference pilot: mobility (CNC machining + press line). The spec is ``pilot.yaml`` beside this file."""
