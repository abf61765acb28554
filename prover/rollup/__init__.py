"""The rollup operator: accounts, transactions, the state tree, batch application, public data.

Layering (ARCHITECTURE §1): ``rollup`` may use ``circuits`` and ``groth16`` but never ``service``
or ``proto``. The batch circuit itself lives in ``circuits.rollup`` (constraints only); this
package fills its inputs, like gnark's ``examples/rollup`` splits ``operator.go`` from
``circuit.go``.
"""
