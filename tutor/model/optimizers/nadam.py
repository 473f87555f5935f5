"""NAdam as PyTorch's: Adam with Nesterov momentum and a momentum schedule.

With mu_t = beta1 * (1 - 0.5 * 0.96^(t * momentum_decay)) and P_t = mu_1 * ... * mu_t:
``m_hat = mu_(t+1) * m / (1 - P_(t+1)) + (1 - mu_t) * g / (1 - P_t)``, ``v_hat = v / (1 - beta2^t)``,
``new = theta - lr * m_hat / (sqrt(v_hat) + eps)``.
"""

from __future__ import annotations

from tutor.model.optimizers.adam import ADAM_OPTIONS, Adam, wrong_steps
from tutor.model.optimizers.base import Rule, RuleMistake
from tutor.model.options import Option
from tutor.trace.quantity import Part, Term


class NAdam(Adam):
    """Adam whose first moment looks one step ahead."""

    name = "nadam"
    description = "NAdam (PyTorch's): Adam with Nesterov momentum and momentum_decay"
    options = ADAM_OPTIONS + (
        Option("momentum_decay", 0.004, "psi in mu_t = beta1 (1 - 0.5 * 0.96^(t psi))", low=0.0),
    )

    def __init__(self, **given) -> None:
        super().__init__(**given)
        self._products = [1.0]  # P_0, P_1, ...: products of mu_1 ... mu_t

    def mu(self, t: int) -> float:
        """mu_t, the momentum of step t."""
        return self.values["beta1"] * (1.0 - 0.5 * 0.96 ** (t * self.values["momentum_decay"]))

    def product(self, t: int) -> float:
        """P_t = mu_1 * mu_2 * ... * mu_t (1 for t = 0)."""
        products = self._products
        while len(products) <= t:
            products.append(products[-1] * self.mu(len(products)))
        return products[t]

    def first_corrected(self, g: str) -> Rule:
        mu, product = self.mu, self.product

        def compute(m, grad, t):
            return mu(t + 1) * m / (1.0 - product(t + 1)) + (1.0 - mu(t)) * grad / (1.0 - product(t))

        def formula(m: Term, grad: Term, t: Term) -> list[Part]:
            k = int(t.value)
            return [Term("mu_t+1", mu(k + 1)), " * ", m, " / (1 - ", Term("P_t+1", product(k + 1)), ") + (1 - ",
                    Term("mu_t", mu(k)), ") * ", grad, " / (1 - ", Term("P_t", product(k)), ")"]

        return Rule("m_hat", "m_hat", "the first moment with its bias corrected, looking one step ahead",
                    ("m", g, "t"), compute, formula)

    def uncorrected_first(self) -> tuple[RuleMistake, ...]:
        mu = self.mu
        return (RuleMistake("bias_correction_omitted", "m_hat", ("m", self.gradient_name, "t"),
                            lambda m, grad, t: [mu(t + 1) * m + (1.0 - mu(t)) * grad]),)

    def wrong_t_first(self) -> tuple[RuleMistake, ...]:
        right = self.first_corrected(self.gradient_name).compute
        return (RuleMistake("bias_correction_wrong_t", "m_hat", ("m", self.gradient_name, "t"),
                            lambda m, grad, t: [right(m, grad, n) for n in wrong_steps(int(t))]),)
