"""`torch.utils.data`: datasets, samplers and the DataLoader.

from tinygrad_lr.utils.data import DataLoader, TensorDataset
loader = DataLoader(TensorDataset(X, y), batch_size=10, shuffle=True)
for X_batch, y_batch in loader: ...
"""

from .dataloader import DataLoader, default_collate
from .dataset import ConcatDataset, Dataset, Subset, TensorDataset, random_split
from .sampler import (
    BatchSampler,
    RandomSampler,
    Sampler,
    SequentialSampler,
    SubsetRandomSampler,
)

__all__ = [
    "BatchSampler",
    "ConcatDataset",
    "DataLoader",
    "Dataset",
    "RandomSampler",
    "Sampler",
    "SequentialSampler",
    "Subset",
    "SubsetRandomSampler",
    "TensorDataset",
    "default_collate",
    "random_split",
]
