import torch
from torch import nn

drop = nn.Dropout(p=0.5)  # zero each element with probability p = 0.5
x = torch.ones(8)

torch.manual_seed(0)  # the same seed draws the same elements to drop
print(drop(x))  # training mode (the default): kept elements scaled by 1/(1-p) = 2
drop.eval()  # evaluation mode: dropout is switched off
print(drop(x))  # the input, unchanged
