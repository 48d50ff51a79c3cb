"""Hugging Face Hub packaging: dataset cards, Parquet builds, offline validation, push, loading.

* :func:`landbench.hub.build.build` (``landbench hub build``): Parquet shards per split, the
  rendered dataset card, checksums and a build record, from a raw dataset.
* :func:`landbench.hub.validate.validate` (``landbench hub validate``): fully offline checks of a
  build against its card, its checksums and the raw loader.
* :func:`landbench.hub.push.push` (``landbench hub push``): one atomic, tagged commit.
* :func:`landbench.datasets.hub_reader.load_hub_dataset` (``landbench.load(..., source="hub")``): a
  TorchGeo dataset read from a local snapshot with ``datasets``.

Submodules import ``datasets``/``huggingface_hub`` themselves, so importing this package is cheap.
"""
