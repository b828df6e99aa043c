"""Chapter `sequences`: recurrent networks and word embeddings (seed 002 TP 4).

Kinds: `charrnn` (the character-level SimpleRNN on Baudelaire's *Les Fleurs du mal*, trained on
the shared runner's `language_model` task, then text sampled at several temperatures) and
`glove_clusters` (the GloVe vectors of the Flickr8k caption words, clustered by KMeans and mapped
by t-SNE; chapter `captioning` reads the same vectors).
"""

from reprolab.kinds import Kind, register

SEED_FILES = ("metrics.json", "history.csv", "model.pt")  # what each seed's run leaves in seed<k>/


def seed_files(variant) -> tuple[str, ...]:
    """The declared files of each seed's run, for kinds whose one job trains every seed in turn (the
    smoke run then pays Python's start-up once per variant, not twice per seed)."""
    return tuple(f"seed{seed}/{name}" for seed in variant.seeds for name in SEED_FILES)


register(Kind("charrnn", job="reprolab.chapters.sequences.jobs:charrnn",
              outputs=("metrics.json", "history.csv", "curves.png", "samples.json"), extra_outputs=seed_files,
              summarize="reprolab.chapters.sequences.report:charrnn", resources="train", gpu=True))
register(Kind("glove_clusters", job="reprolab.chapters.sequences.jobs:glove_clusters",
              outputs=("metrics.json", "clusters.json", "embeddings.pt", "tsne.png"),
              summarize="reprolab.chapters.sequences.report:glove_clusters"))
