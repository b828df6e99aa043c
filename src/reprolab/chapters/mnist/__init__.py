"""Chapter `mnist`: MNIST classifiers, regularisation and manifold untangling (seed 002 TP 2, seed 000).

The classifiers use the core `train` kind. Kind `untangling`: t-SNE and PCA of the test set in
pixel space or in the representation of a trained `train` variant of this chapter.
"""

from reprolab import paths
from reprolab.kinds import Kind, prepared_data, register
from reprolab.registry import Variant, resolve


def untangling_inputs(variant: Variant, config: dict) -> dict[str, str]:
    """The prepared data, and the first seed's model of the variant named by `representation`."""
    inputs = prepared_data(variant, config)
    source = variant.params["representation"]
    if source != "pixels":
        trained = resolve(config, variant.chapter, *source.split("/"))
        inputs["model"] = f"{paths.seed_dir(trained.id, trained.seeds[0])}/model.pt"
    return inputs


register(Kind("untangling", job="reprolab.chapters.mnist.jobs:untangle",
              outputs=("metrics.json", "tsne.png", "pca.png"), inputs=untangling_inputs,
              summarize="reprolab.chapters.mnist.report:untangling"))
