/**
 * Which devices a worker's Python processes see, and how many processes a training job runs.
 * `--gpu N` gives one device; `--gpus 0,1,2,3` gives a train worker several, and each training
 * job then runs as one process per device (ipa_worker.launch); `--train-procs N` sets that count
 * where no device list does (CPU ranks, or every GPU the machine shows).
 */

export interface DeviceFlags {
  /** One CUDA device index (`--gpu`). */
  gpu?: string;
  /** Several CUDA device indices, comma-separated (`--gpus`). */
  gpus?: string;
  /** Training processes per job (`--train-procs`). */
  trainProcs?: number;
}

export interface DeviceSetup {
  /** CUDA_VISIBLE_DEVICES for the Python processes; undefined leaves the environment's. */
  visible?: string;
  /** Processes per training job (IPA_TRAIN_PROCS). */
  trainProcesses: number;
}

/** Reads the device flags; throws an Error naming the flag when they do not fit together. */
export function deviceSetup(f: DeviceFlags): DeviceSetup {
  if (f.gpu !== undefined && f.gpus !== undefined) throw new Error('--gpu and --gpus both given: use --gpu for one device, --gpus for several');
  if (f.gpu !== undefined) {
    if (!/^\d+$/.test(f.gpu.trim())) throw new Error(`--gpu takes one device index, got "${f.gpu}" (several: --gpus ${f.gpu})`);
    if (f.trainProcs !== undefined && f.trainProcs !== 1) throw new Error(`--train-procs ${f.trainProcs} needs as many devices: use --gpus`);
    return { visible: f.gpu.trim(), trainProcesses: 1 };
  }
  if (f.gpus !== undefined) {
    const list = f.gpus.split(',').map((s) => s.trim());
    if (list.some((s) => !/^\d+$/.test(s))) throw new Error(`--gpus takes device indices separated by commas, got "${f.gpus}"`);
    if (new Set(list).size !== list.length) throw new Error(`--gpus lists a device twice: "${f.gpus}"`);
    if (f.trainProcs !== undefined && f.trainProcs !== list.length) {
      throw new Error(`--train-procs ${f.trainProcs} does not match the ${list.length} devices of --gpus (one training process per device)`);
    }
    return { visible: list.join(','), trainProcesses: list.length };
  }
  return { trainProcesses: f.trainProcs ?? 1 };
}

/** The environment that carries a setup to the Python processes. */
export function deviceEnv(s: DeviceSetup): Record<string, string> {
  const env: Record<string, string> = { IPA_TRAIN_PROCS: String(s.trainProcesses) };
  if (s.visible !== undefined) env.CUDA_VISIBLE_DEVICES = s.visible;
  return env;
}
