/*
 * Enqueue + dequeue cost of DPDK's hierarchical scheduler (librte_sched), per packet, for
 * comparison with dpdkq's voq on the same shapes (ci/bench-sched.sh runs both).
 *
 * One port, one subport, P pipes of 16 queues each; a shape of Q queues uses the first Q
 * queues (Q = 1: one queue of one pipe). Rates are set far above what one core can move,
 * so the scheduler never holds packets back for credits: what is measured is the work of
 * classifying (rte_sched_port_pkt_write), enqueueing and dequeueing bursts of 32 mbufs of
 * 64 bytes (the same mbufs circulate, so no mempool work is counted), spread over the Q queues by a fixed pseudo-random sequence. With --red, every
 * traffic class has RED (min_th 32, max_th 64 packets, maxp 1/10, wq 2^-9), as dpdkq's
 * RED is configured in the Go benchmark.
 *
 * Usage: sched_bench [EAL args] -- QUEUES PACKETS [--red]
 * Prints: rte_sched queues=Q red=0|1 ns_per_pkt=N.NN dropped=D pkts_per_dequeue=X
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_common.h>
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <rte_sched.h>

#define BURST 32
#define QSIZE 64
#define MAX_INFLIGHT 256

static struct rte_sched_port *make_port(uint32_t pipes, int red)
{
	static struct rte_sched_pipe_params pipe;
	static struct rte_sched_subport_profile_params subprof;
	static struct rte_sched_subport_params sub;
	static struct rte_sched_cman_params cman;
	static struct rte_sched_port_params port;
	const uint64_t rate = 12500000000ULL; /* 100 Gb/s in bytes/s: 148 Mpps of 64 B frames, never the limit */
	uint32_t pow2 = 1;

	while (pow2 < pipes)
		pow2 <<= 1;
	memset(&pipe, 0, sizeof(pipe));
	pipe.tb_rate = rate;
	pipe.tb_size = 1000000;
	for (int tc = 0; tc < RTE_SCHED_TRAFFIC_CLASSES_PER_PIPE; tc++)
		pipe.tc_rate[tc] = rate;
	pipe.tc_period = 10;
	pipe.tc_ov_weight = 1;
	for (int q = 0; q < RTE_SCHED_BE_QUEUES_PER_PIPE; q++)
		pipe.wrr_weights[q] = 1;

	memset(&subprof, 0, sizeof(subprof));
	subprof.tb_rate = rate;
	subprof.tb_size = 1000000;
	for (int tc = 0; tc < RTE_SCHED_TRAFFIC_CLASSES_PER_PIPE; tc++)
		subprof.tc_rate[tc] = rate;
	subprof.tc_period = 10;

	memset(&cman, 0, sizeof(cman));
	cman.cman_mode = RTE_SCHED_CMAN_RED;
	for (int tc = 0; tc < RTE_SCHED_TRAFFIC_CLASSES_PER_PIPE; tc++)
		for (int c = 0; c < RTE_COLORS; c++)
			cman.red_params[tc][c] = (struct rte_red_params){
				.min_th = 32, .max_th = 64, .maxp_inv = 10, .wq_log2 = 9};

	memset(&sub, 0, sizeof(sub));
	sub.n_pipes_per_subport_enabled = pipes;
	for (int tc = 0; tc < RTE_SCHED_TRAFFIC_CLASSES_PER_PIPE; tc++)
		sub.qsize[tc] = QSIZE;
	sub.pipe_profiles = &pipe;
	sub.n_pipe_profiles = 1;
	sub.n_max_pipe_profiles = 1;
	sub.cman_params = red ? &cman : NULL;

	memset(&port, 0, sizeof(port));
	port.name = "dqsched";
	port.socket = 0;
	port.rate = rate;
	port.mtu = 1522;
	port.frame_overhead = 24;
	port.n_subports_per_port = 1;
	port.subport_profiles = &subprof;
	port.n_subport_profiles = 1;
	port.n_max_subport_profiles = 1;
	port.n_pipes_per_subport = pow2;

	struct rte_sched_port *p = rte_sched_port_config(&port);
	if (p == NULL)
		rte_exit(EXIT_FAILURE, "rte_sched_port_config failed\n");
	int err = rte_sched_subport_config(p, 0, &sub, 0);
	if (err != 0)
		rte_exit(EXIT_FAILURE, "rte_sched_subport_config: %d\n", err);
	for (uint32_t i = 0; i < pipes; i++) {
		err = rte_sched_pipe_config(p, 0, i, 0);
		if (err != 0)
			rte_exit(EXIT_FAILURE, "rte_sched_pipe_config(%u): %d\n", i, err);
	}
	return p;
}

/* Queue q of the shape -> pipe, traffic class and queue within the class (the 13th
 * class, best effort, has 4 queues). */
static void place(uint32_t q, uint32_t *pipe, uint32_t *tc, uint32_t *queue)
{
	uint32_t in = q % RTE_SCHED_QUEUES_PER_PIPE;

	*pipe = q / RTE_SCHED_QUEUES_PER_PIPE;
	if (in < RTE_SCHED_TRAFFIC_CLASS_BE) {
		*tc = in;
		*queue = 0;
	} else {
		*tc = RTE_SCHED_TRAFFIC_CLASS_BE;
		*queue = in - RTE_SCHED_TRAFFIC_CLASS_BE;
	}
}

int main(int argc, char **argv)
{
	int n = rte_eal_init(argc, argv);
	if (n < 0)
		rte_exit(EXIT_FAILURE, "rte_eal_init failed\n");
	argc -= n;
	argv += n;
	if (argc < 3)
		rte_exit(EXIT_FAILURE, "usage: sched_bench [EAL args] -- QUEUES PACKETS [--red]\n");
	uint32_t queues = (uint32_t)strtoul(argv[1], NULL, 10);
	uint64_t total = strtoull(argv[2], NULL, 10);
	int red = argc > 3 && strcmp(argv[3], "--red") == 0;
	if (queues < 1 || queues > 65536)
		rte_exit(EXIT_FAILURE, "QUEUES must be 1..65536\n");
	uint32_t pipes = (queues + RTE_SCHED_QUEUES_PER_PIPE - 1) / RTE_SCHED_QUEUES_PER_PIPE;

	struct rte_mempool *mp = rte_pktmbuf_pool_create("dqsched_mb", 8191, 256, 0,
		RTE_MBUF_DEFAULT_BUF_SIZE, rte_socket_id());
	if (mp == NULL)
		rte_exit(EXIT_FAILURE, "mempool: %s\n", rte_strerror(rte_errno));
	struct rte_sched_port *port = make_port(pipes, red);

	/* The queue of every packet, fixed in advance (xorshift), as in the Go benchmark. */
	enum { SEQ = 4096 };
	static uint32_t pipe_of[SEQ], tc_of[SEQ], q_of[SEQ];
	uint64_t x = 88172645463325252ULL;
	for (int i = 0; i < SEQ; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		place((uint32_t)(x % queues), &pipe_of[i], &tc_of[i], &q_of[i]);
	}

	/* Mbufs circulate: what is dequeued is the next input, so the loop measures the
	 * scheduler, not the mempool. Packets the scheduler drops (RED) it frees itself;
	 * they are replaced from the pool. */
	static struct rte_mbuf *stack[MAX_INFLIGHT + 2 * BURST];
	int top = 0;
	struct rte_mbuf *in[BURST], *out[BURST];
	uint64_t sent = 0, got = 0, dropped = 0, k = 0, calls = 0;
	uint64_t warm = total / 10, t0 = 0, got0 = 0;
	while (got < total + warm) {
		if (sent - got - dropped < MAX_INFLIGHT) {
			while (top < BURST) {
				struct rte_mbuf *m = rte_pktmbuf_alloc(mp);
				if (m == NULL)
					rte_exit(EXIT_FAILURE, "mbufs exhausted\n");
				rte_pktmbuf_append(m, 64);
				stack[top++] = m;
			}
			for (int i = 0; i < BURST; i++, k++) {
				uint32_t s = (uint32_t)(k % SEQ);
				in[i] = stack[--top];
				rte_sched_port_pkt_write(port, in[i], 0, pipe_of[s], tc_of[s], q_of[s],
					RTE_COLOR_GREEN);
			}
			int e = rte_sched_port_enqueue(port, in, BURST);
			sent += BURST;
			dropped += BURST - e;
		}
		int d = rte_sched_port_dequeue(port, out, BURST);
		calls++;
		for (int i = 0; i < d; i++)
			stack[top++] = out[i];
		got += d;
		if (t0 == 0 && got >= warm) {
			t0 = rte_rdtsc();
			got0 = got;
		}
	}
	uint64_t cycles = rte_rdtsc() - t0;
	double ns = (double)cycles / (double)(got - got0) * 1e9 / (double)rte_get_tsc_hz();
	printf("rte_sched queues=%u red=%d ns_per_pkt=%.2f dropped=%lu pkts_per_dequeue=%.1f\n",
		queues, red, ns, (unsigned long)dropped, (double)got / (double)calls);
	rte_sched_port_free(port);
	rte_eal_cleanup();
	return 0;
}
