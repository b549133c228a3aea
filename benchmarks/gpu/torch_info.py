"""Prints, on one line, what the GPU scripts need of a pip-installed PyTorch: its version, its CUDA version, whether it
sees a GPU, its folder, and the library path that finds libtorch and its CUDA libraries (torch/lib, then every folder
of the nvidia-* wheels that holds a shared library: cu12 wheels keep them in nvidia/<lib>/lib, cu13 in nvidia/cu13/lib)."""
import os

import torch

folder = os.path.dirname(torch.__file__)
nvidia = os.path.join(os.path.dirname(folder), "nvidia")
dirs = [os.path.join(folder, "lib")] + sorted({root for root, _, files in os.walk(nvidia) if any(".so" in f for f in files)})
print(torch.__version__, torch.version.cuda, torch.cuda.is_available(), folder, ":".join(dirs))
