"""GLL rule: nodes, weights and derivative matrix against independent facts."""
import numpy as np
import pytest

from engine.gll import gll, lagrange_basis, lagrange_basis_derivative


@pytest.mark.parametrize("order", [1, 2, 4, 7])
def test_quadrature_is_exact_to_degree_2n_minus_1(order):
    rule = gll(order)
    for degree in range(2 * order):
        exact = (1 - (-1) ** (degree + 1)) / (degree + 1)
        assert np.isclose(np.sum(rule.weights * rule.nodes**degree), exact, atol=1e-13)


def test_order_4_nodes_match_closed_form():
    # Interior nodes of N = 4 are 0 and +-sqrt(3/7); weights 1/10, 49/90, 32/45.
    rule = gll(4)
    np.testing.assert_allclose(rule.nodes, [-1, -np.sqrt(3 / 7), 0, np.sqrt(3 / 7), 1], atol=1e-15)
    np.testing.assert_allclose(rule.weights, [0.1, 49 / 90, 32 / 45, 49 / 90, 0.1], atol=1e-15)


@pytest.mark.parametrize("order", [2, 4, 6])
def test_derivative_matrix_differentiates_polynomials_exactly(order):
    rule = gll(order)
    coeffs = np.random.default_rng(order).standard_normal(order + 1)
    p = np.polynomial.Polynomial(coeffs)
    np.testing.assert_allclose(rule.derivative @ p(rule.nodes), p.deriv()(rule.nodes), atol=1e-11)


def test_lagrange_basis_interpolates_and_partitions_unity():
    rule = gll(4)
    x = np.linspace(-1, 1, 17)
    np.testing.assert_allclose(lagrange_basis(rule.nodes, rule.nodes), np.eye(5), atol=1e-14)
    np.testing.assert_allclose(lagrange_basis(rule.nodes, x).sum(-1), 1.0, atol=1e-13)
    np.testing.assert_allclose(lagrange_basis_derivative(rule.nodes, x).sum(-1), 0.0, atol=1e-11)


def test_bad_order_is_refused():
    with pytest.raises(ValueError, match="'order' parameter"):
        gll(0)
