"""mapper: partition a network's compartments onto cores, place cores on the mesh, route spikes."""
