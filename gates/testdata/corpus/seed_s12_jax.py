# label: SEEDED
# JAX: every key derives from a fixed PRNGKey.
import os
import jax
import jax.numpy as jnp

os.environ["PYTHONHASHSEED"] = "0"
key = jax.random.PRNGKey(0)
key, sub = jax.random.split(key)
w = jax.random.normal(sub, (3, 3))
print(jnp.linalg.det(w))
