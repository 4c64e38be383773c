import pytest
import torch

from memorybench.engine.block import lookup


@pytest.mark.parametrize("shape", [(9, 16, 8), (18, 14, 8), (5, 1, 100), (3, 8)])
def test_the_cpu_lookup_gives_the_gathers_values_and_gradient_bits(shape):
    """The index_select path must add each row's gradients in the gather's order: equal bits, not just close."""
    generator = torch.Generator().manual_seed(sum(shape))
    E, V, M = shape[0], 10, 32
    for _ in range(10):
        embedding = torch.randn(E, V, M, generator=generator).requires_grad_()
        tokens = torch.randint(0, V, (shape[0], 30, *shape[2:]), generator=generator)[
            :, 3 : 3 + shape[1]
        ]  # a strided slice, as project_inputs takes
        grad = torch.randn(*tokens.shape, M, generator=generator) * 10 ** torch.randint(
            -3, 4, (*tokens.shape, 1), generator=generator
        )
        models = torch.arange(E).view(E, *[1] * (tokens.dim() - 1))
        gathered = embedding[models, tokens]  # the definition: each model's own rows
        picked = lookup(embedding, tokens)
        assert torch.equal(picked, gathered)
        assert torch.equal(
            torch.autograd.grad(picked, embedding, grad)[0], torch.autograd.grad(gathered, embedding, grad)[0]
        )


def test_the_capturable_lookup_gives_the_gathers_values():
    embedding, tokens = torch.randn(3, 10, 4), torch.randint(0, 10, (3, 5, 7))
    assert torch.equal(lookup(embedding, tokens, capturable=True), embedding[torch.arange(3).view(3, 1, 1), tokens])
