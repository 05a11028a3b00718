"""The photo pipeline (``bot/images.py``, ``bot/image_workers.py``) on real Pillow images and
hostile uploads.
"""
