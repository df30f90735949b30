package main

import (
	"encoding/json"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/dpdkq/dpdkq/api"
)

// changeCmd is a subcommand that builds one api.Change from its flags and arguments.
// The router validates every change again (and names the config key in its error);
// the checks here only catch what can be known without it, before a round trip.
func changeCmd(af *apiFlags, use, short, example string, nargs int, build func(cmd *cobra.Command, args []string) (api.Change, error)) *cobra.Command {
	return &cobra.Command{
		Use:     use,
		Short:   short,
		Example: example,
		Args:    cobra.ExactArgs(nargs),
		RunE: func(cmd *cobra.Command, args []string) error {
			ch, err := build(cmd, args)
			if err != nil {
				return err
			}
			cl, err := af.client()
			if err != nil {
				return err
			}
			applied, err := cl.Apply(cmd.Context(), ch)
			if err != nil {
				return err // a 400 carries the router's message verbatim
			}
			b, _ := json.Marshal(applied)
			fmt.Fprintf(cmd.OutOrStdout(), "applied %s\n", b)
			return nil
		},
	}
}

// target holds --port and --class.
type target struct {
	port  string
	class int
}

func (t *target) register(c *cobra.Command, withClass bool) {
	c.Flags().StringVar(&t.port, "port", "", "output port name (required)")
	_ = c.MarkFlagRequired("port")
	if withClass {
		c.Flags().IntVar(&t.class, "class", 0, "traffic class 0..7 (default: every class)")
	}
}

// classPtr is nil when --class was not given, which the API reads as "every class".
func (t *target) classPtr(cmd *cobra.Command) *int {
	if !cmd.Flags().Changed("class") {
		return nil
	}
	c := t.class
	return &c
}

func newSetCmd() *cobra.Command {
	var af apiFlags
	c := &cobra.Command{
		Use:   "set",
		Short: "Change a running router's queues, AQM, ports and buffer live",
		Long: `Send one live change to a running router through its API. The router applies it
on the lcore that owns the target between two bursts and answers once it is in
effect; a refused change prints the router's reason, which names the setting, the
value and what is allowed. Routes are changed with "dpdkq route add|del".`,
	}
	af.register(c)

	var ql target
	qlCmd := changeCmd(&af, "queue-limit --port P [--class C] LIMIT", "Set the queue limit (1000p, 64KB, 10ms, 0.5bdp)",
		"  dpdkq set queue-limit --port p1 1000p\n  dpdkq set queue-limit --port p1 --class 0 10ms", 1,
		func(cmd *cobra.Command, args []string) (api.Change, error) {
			return api.Change{Kind: "queue_limit", Port: ql.port, Class: ql.classPtr(cmd), Limit: args[0]}, nil
		})
	ql.register(qlCmd, true)

	var aq target
	var kind string
	var params []string
	aqmCmd := changeCmd(&af, "aqm --port P [--class C] --kind KIND [--param KEY=VALUE]...",
		"Replace the AQM (none, red, codel, pie) and its parameters",
		"  dpdkq set aqm --port p1 --kind codel --param target=5ms --param interval=100ms\n"+
			"  dpdkq set aqm --port p1 --class 1 --kind pie --param target=15ms --param ecn=true\n"+
			"  dpdkq set aqm --port p1 --kind none", 0,
		func(cmd *cobra.Command, _ []string) (api.Change, error) {
			m, err := aqmParams(kind, params)
			if err != nil {
				return api.Change{}, err
			}
			return api.Change{Kind: "aqm", Port: aq.port, Class: aq.classPtr(cmd), AQM: m}, nil
		})
	aq.register(aqmCmd, true)
	aqmCmd.Flags().StringVar(&kind, "kind", "", "AQM kind: none, red, codel or pie (required)")
	_ = aqmCmd.MarkFlagRequired("kind")
	aqmCmd.Flags().StringArrayVar(&params, "param", nil,
		"a parameter of the kind as in the config file's queueing.queue.aqm.<kind> section (repeatable)")

	var rt target
	rateCmd := changeCmd(&af, "rate --port P RATE", "Set a port's shaping rate (10Mbps, 1Gbps; 0 unshapes)",
		"  dpdkq set rate --port p1 62.5Mbps", 1,
		func(_ *cobra.Command, args []string) (api.Change, error) {
			return api.Change{Kind: "port_rate", Port: rt.port, Rate: args[0]}, nil
		})
	rt.register(rateCmd, false)

	var dl target
	delayCmd := changeCmd(&af, "delay --port P DELAY", "Set a port's egress delay line (20ms; 0 removes it)",
		"  dpdkq set delay --port p1 40ms", 1,
		func(_ *cobra.Command, args []string) (api.Change, error) {
			return api.Change{Kind: "port_delay", Port: dl.port, Delay: args[0]}, nil
		})
	dl.register(delayCmd, false)

	var cu target
	catchUpCmd := changeCmd(&af, "catch-up --port P WINDOW", "Set how much missed link time a backlogged port may make up after a loop stall (20ms; 0 as a link)",
		"  dpdkq set catch-up --port p1 20ms", 1,
		func(_ *cobra.Command, args []string) (api.Change, error) {
			return api.Change{Kind: "port_catch_up", Port: cu.port, CatchUp: args[0]}, nil
		})
	cu.register(catchUpCmd, false)

	var pool string
	poolCmd := changeCmd(&af, "pool-size --pool NAME SIZE", "Resize a shared buffer pool (bytes or packets)",
		"  dpdkq set pool-size --pool shared 4MB", 1,
		func(_ *cobra.Command, args []string) (api.Change, error) {
			return api.Change{Kind: "pool_size", Pool: pool, Size: args[0]}, nil
		})
	poolCmd.Flags().StringVar(&pool, "pool", "", "pool name (required)")
	_ = poolCmd.MarkFlagRequired("pool")

	var profile string
	alphaCmd := changeCmd(&af, "alpha --profile NAME N", "Set a profile's dynamic threshold: alpha = 2^N, N in -7..7",
		"  dpdkq set alpha --profile lossy 1\n  dpdkq set alpha --profile lossy -- -2    (\"--\" before a negative N)", 1,
		func(_ *cobra.Command, args []string) (api.Change, error) {
			n, err := strconv.Atoi(args[0])
			if err != nil {
				return api.Change{}, fmt.Errorf("N = %q: want an integer exponent -7..7 (alpha = 2^N)", args[0])
			}
			return api.Change{Kind: "profile_alpha", Profile: profile, Alpha: &n}, nil
		})
	alphaCmd.Flags().StringVar(&profile, "profile", "", "buffer profile name (required)")
	_ = alphaCmd.MarkFlagRequired("profile")

	var rprofile string
	reservedCmd := changeCmd(&af, "reserved --profile NAME SIZE", "Set a profile's reserved (guaranteed) size per queue",
		"  dpdkq set reserved --profile lossy 3000B", 1,
		func(_ *cobra.Command, args []string) (api.Change, error) {
			return api.Change{Kind: "profile_reserved", Profile: rprofile, Size: args[0]}, nil
		})
	reservedCmd.Flags().StringVar(&rprofile, "profile", "", "buffer profile name (required)")
	_ = reservedCmd.MarkFlagRequired("profile")

	c.AddCommand(qlCmd, aqmCmd, rateCmd, delayCmd, catchUpCmd, poolCmd, alphaCmd, reservedCmd)
	return c
}

// aqmParams builds Change.AQM in config-file form: {"kind": K, K: {key: value}}.
// Values are typed the way YAML would type them (true/false, integers, decimals);
// everything else, durations included, stays a string for the router to parse.
func aqmParams(kind string, params []string) (map[string]any, error) {
	if kind == "" {
		return nil, fmt.Errorf("--kind: required (none, red, codel or pie)")
	}
	m := map[string]any{"kind": kind}
	if len(params) == 0 {
		return m, nil
	}
	if kind == "none" {
		return nil, fmt.Errorf("--param %q: kind none takes no parameters", params[0])
	}
	p := map[string]any{}
	for _, kv := range params {
		k, v, ok := strings.Cut(kv, "=")
		k = strings.TrimSpace(k)
		if !ok || k == "" {
			return nil, fmt.Errorf("--param %q: want KEY=VALUE, e.g. target=5ms", kv)
		}
		if _, dup := p[k]; dup {
			return nil, fmt.Errorf("--param %q: %s given twice", kv, k)
		}
		p[k] = yamlScalar(strings.TrimSpace(v))
	}
	m[kind] = p
	return m, nil
}

func yamlScalar(v string) any {
	if v == "true" || v == "false" {
		return v == "true"
	}
	if i, err := strconv.ParseInt(v, 10, 64); err == nil {
		return i
	}
	if f, err := strconv.ParseFloat(v, 64); err == nil {
		return f
	}
	return v
}

func newRouteCmd() *cobra.Command {
	var af apiFlags
	c := &cobra.Command{
		Use:   "route",
		Short: "Show, add or delete a running router's routes",
	}
	af.register(c)

	var port, via, mac string
	add := changeCmd(&af, "add PREFIX --port P [--via IP] [--mac MAC]", "Add a route (replaces one for the same prefix)",
		"  dpdkq route add 10.3.0.0/16 --port p1 --via 10.2.0.2\n  dpdkq route add 10.4.0.0/24 --port p1 --mac 02:00:00:00:01:02", 1,
		func(_ *cobra.Command, args []string) (api.Change, error) {
			if _, err := netip.ParsePrefix(args[0]); err != nil {
				return api.Change{}, fmt.Errorf("PREFIX %q: want an IPv4 prefix such as 10.3.0.0/16", args[0])
			}
			if via != "" {
				if _, err := netip.ParseAddr(via); err != nil {
					return api.Change{}, fmt.Errorf("--via %q: want a next-hop IP address", via)
				}
			}
			if mac != "" {
				if _, err := net.ParseMAC(mac); err != nil {
					return api.Change{}, fmt.Errorf("--mac %q: want a MAC address such as 02:00:00:00:01:02", mac)
				}
			}
			return api.Change{Kind: "route_add", Prefix: args[0], Port: port, Via: via, MAC: mac}, nil
		})
	add.Flags().StringVar(&port, "port", "", "output port name (required)")
	_ = add.MarkFlagRequired("port")
	add.Flags().StringVar(&via, "via", "", "next-hop address (default: directly connected)")
	add.Flags().StringVar(&mac, "mac", "", "next hop's MAC address (static; skips ARP)")

	del := changeCmd(&af, "del PREFIX", "Delete a route", "  dpdkq route del 10.3.0.0/16", 1,
		func(_ *cobra.Command, args []string) (api.Change, error) {
			if _, err := netip.ParsePrefix(args[0]); err != nil {
				return api.Change{}, fmt.Errorf("PREFIX %q: want an IPv4 prefix such as 10.3.0.0/16", args[0])
			}
			return api.Change{Kind: "route_del", Prefix: args[0]}, nil
		})

	list := &cobra.Command{
		Use:   "list",
		Short: "List the route table",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cl, err := af.client()
			if err != nil {
				return err
			}
			routes, err := cl.Routes(cmd.Context())
			if err != nil {
				return err
			}
			tw := newTable(cmd.OutOrStdout())
			fmt.Fprintln(tw, "PREFIX\tPORT\tNEXT HOP\tMAC")
			for _, r := range routes {
				nh := r.Via
				if r.Connected {
					nh = "connected"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", r.Prefix, r.Port, dash(nh), dash(r.MAC))
			}
			return tw.Flush()
		},
	}
	c.AddCommand(add, del, list)
	return c
}
