"""Problems: the file format and its safe YAML loading, the validated problem, bundled problems, the generator."""
