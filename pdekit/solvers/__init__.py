"""Solvers: finite differences (:mod:`.fd`), finite elements (:mod:`.fem`), Krylov methods and
preconditioners (:mod:`.linear`), and random inputs (:mod:`.random_fields`)."""
