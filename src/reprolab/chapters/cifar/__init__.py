"""Chapter `cifar`: convolutional networks from scratch on CIFAR-10 (seed 004 TME 5-6).

Every variant uses the core `train` kind; `report.py` adds the synthesis of the variants.
"""
