"""Chapter `gans`: generative adversarial networks (seed 003 TP 9-10).

Kind `gan`: one job per variant trains every seed of a GAN with the engine's adversarial task,
keeps a fixed noise batch's images at every epoch, and scores the generator: the FID against
held-out real images (CelebA; the Inception weights are the asset `fid_inception`), or the
accuracy of the `mnist` chapter's trained CNN on the generated digits and their diversity (the
variant's `classifier` names that CNN's variant: its first seed's `model.pt` is an input of the
job, so the DAG trains it once, in its own chapter).
"""

from reprolab import paths
from reprolab.errors import ConfigError
from reprolab.kinds import Kind, prepared_data, register
from reprolab.registry import Variant, resolve

SEED_FILES = ("metrics.json", "history.csv", "steps.csv", "model.pt")  # per seed, in `seed<k>/`


def gan_inputs(variant: Variant, config: dict) -> dict[str, str]:
    """The prepared dataset; the manifest of each asset the variant names, as `asset_<name>` (the
    FID's Inception: a fixture's lists no file, the network is then random); the classifier's
    trained model."""
    inputs = prepared_data(variant, config)
    if classifier := variant.params.get("classifier"):
        parts = classifier.split("/")
        if len(parts) != 3:
            raise ConfigError(f"{variant.id}: classifier {classifier!r} is not "
                              "<chapter>/<experiment>/<variant>")
        trained = resolve(config, *parts)
        if trained.kind != "train":
            raise ConfigError(f"{variant.id}: classifier {classifier!r} is a {trained.kind!r} variant, not a "
                              "trained network (kind train)")
        inputs["classifier"] = f"{paths.seed_dir(trained.id, trained.seeds[0])}/model.pt"
    return inputs


register(Kind("gan", job="reprolab.chapters.gans.jobs:gan",
              outputs=("metrics.json", "history.csv", "samples.png", "evolution.png"), inputs=gan_inputs,
              extra_outputs=lambda v: tuple(f"seed{seed}/{name}" for seed in v.seeds for name in SEED_FILES),
              summarize="reprolab.chapters.gans.report:gan", resources="train", gpu=True))
