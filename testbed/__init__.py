"""The real parts that the tests and the benchmarks both start on this machine.

A Kubernetes control plane (etcd and kube-apiserver as local processes, as
controller-runtime's envtest runs them) and the PKI it needs (``controlplane``,
``pki``), a throwaway PostgreSQL server (``postgres``), and the process helpers they
share (``processes``: free loopback ports, SIGTERM-then-SIGKILL teardown). Nothing
here knows pytest: what cannot start raises, and the caller decides whether that
skips a test or stops a benchmark. It is imported from the repository's root, which
is on the path of ``python -m benchmarks.…`` run there and of pytest (its
``pythonpath`` setting); it is not part of the imagegate distribution.
"""
