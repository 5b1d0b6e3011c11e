// The NetFlow v5/v9/IPFIX collector inside `mlscope serve --netflow PORT`: the same UDP source
// (sources/udp.ts) and decoder (decoders/flow/netflow.ts) as `mlscope flows --listen`, as a
// `TelemetrySource`. Flow records go to the store's `flows` table (input `live:netflow:udp:…`)
// and to /metrics:
//   mlscope_flow_records_total{exporter}, mlscope_flow_bytes_total{exporter},
//   mlscope_flow_packets_total{exporter}     decoded records (bytes/packets after sampling)
//   mlscope_netflow_datagrams_total, mlscope_netflow_datagram_bytes_total   read from the socket
//   mlscope_netflow_decode_errors_total{reason}   datagrams that are not NetFlow/IPFIX and
//       records skipped by the decoder, by reason (bounded: the decoder's reasons are a fixed set)
//   mlscope_netflow_template_misses_total    data records dropped because their template never
//       came (pending buffer full, or still waiting at shutdown)
//   mlscope_netflow_pending_sets             data sets waiting for their template now
//   mlscope_netflow_templates                templates known
//   mlscope_netflow_kernel_drops_total       datagrams the kernel dropped for the socket (Linux)
// At stop the socket is read until it has been quiet for 50 ms (at most 1 s), as `flows --listen`.

import { NetflowState, decodeNetflowPacket } from '../decoders/flow/netflow.js';
import type { FlowRecord, FlowSink } from '../model/flow.js';
import { UdpSource } from '../sources/udp.js';
import type { Counter, Registry } from './prometheus.js';
import type { RecordSink, TelemetrySource } from './telemetry-store.js';

export interface FlowCollectorOptions {
  host?: string;
  port: number;
  registry: Registry;
  /** Multiply bytes/packets by the exporter's sampling rate (default true). */
  applySampling?: boolean;
  log?: (line: string) => void;
}

const DRAIN_QUIET_MS = 50;
const DRAIN_MAX_MS = 1000;

export class FlowCollectorSource implements TelemetrySource {
  readonly name = 'netflow';
  readonly state: NetflowState;
  private udp: UdpSource | null = null;
  private sink: RecordSink | null = null;
  private inputId: number | null = null;
  /** The inputs row is recorded (records that came before it wait in `batch`). */
  private ready = false;
  private batch: FlowRecord[] = [];
  private readonly recordsC: Counter;
  private readonly bytesC: Counter;
  private readonly packetsC: Counter;
  private readonly errorsC: Counter;
  datagrams = 0;
  decoded = 0;
  records = 0;
  skipped = 0;
  templateMisses = 0;

  constructor(private readonly opts: FlowCollectorOptions) {
    this.address = opts.host ?? '127.0.0.1';
    this.port = opts.port;
    const sink: FlowSink = {
      flow: (f) => {
        this.records++;
        this.batch.push(f);
        const exporter = f.exporter ?? '';
        this.recordsC.inc({ exporter });
        this.bytesC.inc({ exporter }, f.bytes);
        this.packetsC.inc({ exporter }, f.packets);
      },
      skip: (reason) => {
        this.skipped++;
        if (reason === 'no-template') this.templateMisses++;
        this.errorsC.inc({ reason });
      },
      note: (reason) => {
        this.errorsC.inc({ reason });
      },
    };
    this.state = new NetflowState(sink);
    this.state.applySampling = opts.applySampling ?? true;
    const reg = opts.registry;
    this.recordsC = reg.counter(
      'mlscope_flow_records_total',
      'Flow records decoded by the NetFlow/IPFIX collector, by exporter.',
      ['exporter'],
    );
    this.bytesC = reg.counter(
      'mlscope_flow_bytes_total',
      'Bytes of decoded flow records (after the sampling rate), by exporter.',
      ['exporter'],
    );
    this.packetsC = reg.counter(
      'mlscope_flow_packets_total',
      'Packets of decoded flow records (after the sampling rate), by exporter.',
      ['exporter'],
    );
    this.errorsC = reg.counter(
      'mlscope_netflow_decode_errors_total',
      'Datagrams that are not NetFlow/IPFIX, records skipped and template problems, by reason.',
      ['reason'],
    );
    reg
      .counter('mlscope_netflow_datagrams_total', 'Datagrams read by the flow collector.')
      .set({}, () => this.udp?.datagrams ?? 0);
    reg
      .counter('mlscope_netflow_datagram_bytes_total', 'Bytes of datagrams read.')
      .set({}, () => this.udp?.bytes ?? 0);
    reg
      .counter(
        'mlscope_netflow_template_misses_total',
        'Data records dropped because their template never arrived.',
      )
      .set({}, () => this.templateMisses);
    reg
      .gauge('mlscope_netflow_pending_sets', 'Data sets waiting for their template.')
      .set({}, () => this.state.pendingSets);
    reg
      .gauge('mlscope_netflow_templates', 'Templates known (all exporters).')
      .set({}, () => this.state.templates.size);
    reg
      .counter(
        'mlscope_netflow_kernel_drops_total',
        'Datagrams the kernel dropped for the collector socket (receive buffer full).',
      )
      .set({}, () => this.udp?.kernelDrops() ?? 0);
  }

  /** The bound address and port (read once: a closed socket has none). */
  address = '';
  port = 0;

  private onDatagram = (buf: Buffer, info: { address: string; tsUs: number }): void => {
    this.datagrams++;
    const used = decodeNetflowPacket(info.address, info.tsUs, buf, 0, buf.length, this.state);
    if (used > 0) this.decoded++;
    else {
      const sflow = buf.length >= 4 && buf[0] === 0 && buf[1] === 0 && buf[2] === 0 && buf[3] === 5;
      this.errorsC.inc({
        reason: sflow ? 'sflow-unsupported' : buf.length === 0 ? 'empty' : 'not-netflow',
      });
    }
    this.handOver();
  };

  private handOver(): void {
    if (this.batch.length === 0 || !this.sink || !this.ready) return;
    const b = this.batch;
    this.batch = [];
    this.sink.flows(b, this.inputId);
  }

  /** Binds the socket; rejects (with the reason) when the address cannot be bound. */
  async start(sink: RecordSink): Promise<void> {
    this.sink = sink;
    const host = this.opts.host ?? '127.0.0.1';
    try {
      this.udp = await UdpSource.listen({ host, port: this.opts.port }, this.onDatagram);
    } catch (err) {
      throw new Error(
        `cannot listen for NetFlow on udp ${host}:${this.opts.port}: ${(err as Error).message}`,
      );
    }
    this.address = this.udp.address;
    this.port = this.udp.port;
    try {
      this.inputId = await sink.beginInput(
        `live:netflow:udp:${this.address}:${this.port}`,
        'flows',
        'netflow',
      );
    } catch (err) {
      this.opts.log?.(`netflow: cannot record the input in the store: ${(err as Error).message}`);
    }
    this.ready = true;
    this.handOver();
  }

  async stop(): Promise<void> {
    const udp = this.udp;
    if (!udp) return;
    const end = performance.now() + DRAIN_MAX_MS;
    for (let last = -1; this.datagrams !== last && performance.now() < end;) {
      last = this.datagrams;
      await new Promise((r) => setTimeout(r, DRAIN_QUIET_MS));
    }
    await udp.close();
    this.state.flush();
    this.handOver();
    this.opts.log?.(
      `netflow udp ${this.address}:${this.port}: ${this.datagrams} datagrams, ${this.records} flow records, ${this.skipped} skipped`,
    );
    if (this.sink && this.inputId !== null)
      await this.sink
        .finishInput(this.inputId, {
          records: this.records,
          skipped: this.skipped,
          error: null,
          format: 'netflow',
        })
        .catch((err: unknown) =>
          this.opts.log?.(`netflow: cannot update the input: ${(err as Error).message}`),
        );
  }
}
