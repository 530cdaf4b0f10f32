"""What more than one benchmark uses: the repository's paths and the results files
(``paths``, ``results``), nearest-rank percentiles (``percentiles``), and a
kube-apiserver + etcd to run against (``controlplane``, over ``testbed``).
"""
