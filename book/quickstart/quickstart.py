import torch
from torch import nn

drop = nn.Dropout(p=0.5)
x = torch.ones(8)

torch.manual_seed(0)  # fixes the mask
print(drop(x))  # training mode
drop.eval()
print(drop(x))  # evaluation mode
