"""The activation table: each derivative (written in terms of the output) is the derivative."""

import autograd.numpy as anp
import numpy as np
import pytest
from autograd import elementwise_grad

from sdlss_theory.activations import ACTIVATIONS, OUTPUTS

# Away from the ReLU kink, where the derivative is defined.
A = np.concatenate([np.linspace(-6.0, -0.05, 40), np.linspace(0.05, 6.0, 40)])


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_derivative_matches_central_differences(name):
    act = ACTIVATIONS[name]
    h = 1e-6
    numeric = (act.value(A + h) - act.value(A - h)) / (2 * h)
    exact = 1.0 if act.derivative is None else act.derivative(act.value(A))
    assert np.allclose(numeric, exact, rtol=1e-7, atol=1e-9)


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_autograd_numpy_gives_the_same_values_and_derivative(name):
    act = ACTIVATIONS[name]
    assert np.array_equal(act.value(A, anp), act.value(A))
    exact = 1.0 if act.derivative is None else act.derivative(act.value(A))
    assert np.allclose(elementwise_grad(lambda a: act.value(a, anp))(A), exact, rtol=1e-12)


def test_relu_kink_convention_and_outputs():
    relu = ACTIVATIONS["relu"]
    assert relu.value(np.array([0.0]))[0] == 0.0
    assert not relu.derivative(relu.value(np.array([0.0])))[0]
    assert set(OUTPUTS) <= set(ACTIVATIONS) and "relu" not in OUTPUTS
    assert len({a.code for a in ACTIVATIONS.values()}) == len(ACTIVATIONS)
