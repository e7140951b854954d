"""Reference pilot: robotics (robot welding cell fault diagnosis and recovery). The spec is ``pilot.yaml``."""
