"""Model objects, each owning its knowledge: activations, losses and layers (one file each, registered by name)."""
