package app

import (
	"crypto/tls"
	"fmt"

	"github.com/lookout-mon/lookout/actors"
	"github.com/lookout-mon/lookout/cluster"
	"github.com/lookout-mon/lookout/pki"
)

// startCluster creates the cluster member when cluster.enabled is set; it
// returns nil otherwise. The master is attached after it starts
// (see cluster.Cluster.Attach).
func (a *App) startCluster() (*cluster.Cluster, error) {
	cc := a.cfg.Cluster
	if !cc.Enabled {
		return nil, nil
	}
	var tlsCfg *tls.Config
	if !cc.InsecureLoopback {
		c, err := pki.MutualTLS(cc.TLS, pki.RoleMaster)
		if err != nil {
			return nil, fmt.Errorf("cluster.tls: %w", err)
		}
		tlsCfg = c
	} else if err := pki.RequireLoopback(append([]string{cc.Listen}, cc.Peers...)...); err != nil {
		return nil, fmt.Errorf("cluster: %w", err)
	}
	cl, err := cluster.New(cluster.Config{Name: a.cfg.Node.Name, Listen: cc.Listen, Peers: cc.Peers, TLS: tlsCfg,
		Heartbeat: cc.Heartbeat, PeerTimeout: cc.PeerTimeout, PeerSilence: a.cfg.Master.Watchdog.PeerSilence,
		Store: a.Store, Log: a.log})
	if err != nil {
		return nil, err
	}
	return cl, nil
}

// clusterOption returns cl as the master's Cluster (a nil interface when
// not clustered, never a typed nil).
func clusterOption(cl *cluster.Cluster) actors.Cluster {
	if cl == nil {
		return nil
	}
	return cl
}
