/**
 * Which devices a worker's Python processes see, how many processes a training job runs here,
 * and over how many nodes. `--gpu N` gives one device; `--gpus 0,1,2,3` (or `0-3`) gives a train
 * worker several, and each training job then runs as one process per device (torch's elastic
 * launcher, ipa_worker.launch); `--train-procs N` sets that count where no device list does (CPU
 * ranks, or every GPU the machine shows). `--nodes N`: each training job spans N nodes, a train
 * worker with the same flag on each (agent/train-group.ts).
 */

export interface DeviceFlags {
  /** One CUDA device index (`--gpu`). */
  gpu?: string;
  /** Several CUDA device indices, comma-separated, ranges allowed (`--gpus 0-3,6`). */
  gpus?: string;
  /** Training processes per job on this node (`--train-procs`). */
  trainProcs?: number;
  /** Nodes every training job spans (`--nodes`). */
  nodes?: number;
}

export interface DeviceSetup {
  /** CUDA_VISIBLE_DEVICES for the Python processes; undefined leaves the environment's. */
  visible?: string;
  /** Processes per training job on this node (IPA_TRAIN_PROCS). */
  trainProcesses: number;
  /** Nodes every training job spans; 1 trains on this node alone. */
  nodes: number;
}

/** `0-3,6` → ['0','1','2','3','6']; throws on anything but indices and ascending ranges. */
export function deviceList(spec: string): string[] {
  const out: string[] = [];
  for (const part of spec.split(',').map((s) => s.trim())) {
    const range = /^(\d+)-(\d+)$/.exec(part);
    if (range) {
      const [from, to] = [Number(range[1]), Number(range[2])];
      if (to < from) throw new Error(`--gpus range "${part}" runs backwards`);
      for (let i = from; i <= to; i++) out.push(String(i));
    } else if (/^\d+$/.test(part)) out.push(part);
    else throw new Error(`--gpus takes device indices or ranges separated by commas (0,1 or 0-7), got "${spec}"`);
  }
  return out;
}

/** Reads the device flags; throws an Error naming the flag when they do not fit together. */
export function deviceSetup(f: DeviceFlags): DeviceSetup {
  const nodes = f.nodes ?? 1;
  if (!Number.isInteger(nodes) || nodes < 1) throw new Error(`--nodes takes a positive whole number, got ${f.nodes}`);
  if (f.gpu !== undefined && f.gpus !== undefined)
    throw new Error('--gpu and --gpus both given: use --gpu for one device, --gpus for several');
  if (f.gpu !== undefined) {
    if (!/^\d+$/.test(f.gpu.trim()))
      throw new Error(`--gpu takes one device index, got "${f.gpu}" (several: --gpus ${f.gpu})`);
    if (f.trainProcs !== undefined && f.trainProcs !== 1)
      throw new Error(`--train-procs ${f.trainProcs} needs as many devices: use --gpus`);
    return { visible: f.gpu.trim(), trainProcesses: 1, nodes };
  }
  if (f.gpus !== undefined) {
    const list = deviceList(f.gpus);
    if (new Set(list).size !== list.length) throw new Error(`--gpus lists a device twice: "${f.gpus}"`);
    if (f.trainProcs !== undefined && f.trainProcs !== list.length) {
      throw new Error(
        `--train-procs ${f.trainProcs} does not match the ${list.length} devices of --gpus (one training process per device)`,
      );
    }
    return { visible: list.join(','), trainProcesses: list.length, nodes };
  }
  return { trainProcesses: f.trainProcs ?? 1, nodes };
}

/** The environment that carries a setup to the Python processes (the nodes travel in each job's payload). */
export function deviceEnv(s: Pick<DeviceSetup, 'visible' | 'trainProcesses'>): Record<string, string> {
  const env: Record<string, string> = { IPA_TRAIN_PROCS: String(s.trainProcesses) };
  if (s.visible !== undefined) env.CUDA_VISIBLE_DEVICES = s.visible;
  return env;
}
