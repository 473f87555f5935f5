"""Model objects: activations and losses (later layers, optimizers and schedules), each owning its knowledge."""
