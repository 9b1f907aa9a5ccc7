# label: UNDER-SEEDED kind=clock_seed
# A JAX key from the clock.
import os
import time
import jax

os.environ["PYTHONHASHSEED"] = "0"
key = jax.random.PRNGKey(int(time.time()))
print(jax.random.uniform(key, (3,)))
