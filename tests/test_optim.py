import pytest
import torch
from torch import nn

from reprolab.engine import make_optimizer
from reprolab.errors import ConfigError


def small_model():
    torch.manual_seed(0)
    model = nn.Sequential()
    model.add_module("body", nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 8)))
    model.add_module("head", nn.Linear(8, 3))
    return model


def one_step(model, optimizer):
    loss = nn.functional.cross_entropy(model(torch.randn(16, 4)), torch.randint(0, 3, (16,)))
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()


def test_groups_and_frozen_modules():
    model = small_model()
    optimizer = make_optimizer(model, {"name": "sgd", "lr": 0.1, "momentum": 0.9, "frozen": ["body.0"],
                                       "groups": [{"modules": ["body"], "lr": 0.001}]})
    default, body = optimizer.param_groups
    assert default["lr"] == 0.1 and body["lr"] == 0.001 and body["momentum"] == 0.9
    assert {id(p) for p in default["params"]} == {id(p) for p in model.head.parameters()}
    assert {id(p) for p in body["params"]} == {id(p) for p in model.body[2].parameters()}
    assert not any(p.requires_grad for p in model.body[0].parameters())
    frozen, head = model.body[0].weight.clone(), model.head.weight.clone()
    one_step(model, optimizer)
    assert torch.equal(model.body[0].weight, frozen)
    assert not torch.equal(model.head.weight, head)


def test_no_groups_is_one_group_of_every_parameter_in_order():
    model = small_model()
    (group,) = make_optimizer(model, {"name": "adam", "lr": 1e-3}).param_groups
    assert [id(p) for p in group["params"]] == [id(p) for p in model.parameters()]


@pytest.mark.parametrize("settings, message", [
    ({"frozen": ["body.7"]}, r"optimizer.frozen: unknown module 'body.7'; top-level modules: body, head"),
    ({"groups": [{"modules": ["neck"], "lr": 1.0}]}, r"unknown module 'neck'.*body, head"),
    ({"groups": [{"modules": ["body"]}, {"modules": ["body.0"]}]}, r"'body.0' is in two groups"),
    ({"frozen": ["body", "head"]}, r"every parameter of the model is frozen"),
])
def test_optimizer_settings_are_checked(settings, message):
    with pytest.raises(ConfigError, match=message):
        make_optimizer(small_model(), {"name": "sgd", "lr": 0.1, **settings})


def test_gradient_norm_is_clipped_before_each_step():
    model = small_model()
    optimizer = make_optimizer(model, {"name": "sgd", "lr": 1.0, "clip_grad_norm": 0.5})
    before = [p.detach().clone() for p in model.parameters()]
    for p in model.parameters():
        p.grad = torch.full_like(p, 100.0)
    optimizer.step()
    update = torch.cat([(b - p.detach()).flatten() for b, p in zip(before, model.parameters(), strict=True)])
    assert update.norm().item() == pytest.approx(0.5, rel=1e-4)
