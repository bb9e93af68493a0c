"""vidrec: recognise handwritten symbols in live and recorded video.

The core package holds the frame pipeline, the plugin contract, the shared crop
normalisation, the networks, data, training and analysis. Plugins live in the
top-level ``plugins/`` folder and load through the ``vidrec`` entry-point group.
"""

__version__ = "0.1.0"
