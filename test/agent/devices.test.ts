/** `ipa worker` device flags: what the Python processes see and how many processes a training job runs. */
import { describe, expect, it } from 'vitest';
import { deviceEnv, deviceSetup } from '../../orchestrator/agent/devices.js';
import { main } from '../../orchestrator/cli/main.js';
import { ExitCode } from '../../orchestrator/errors.js';

describe('device flags', () => {
  it('--gpu gives one device and one training process; --gpus one process per device', () => {
    expect(deviceSetup({ gpu: '3' })).toEqual({ visible: '3', trainProcesses: 1, nodes: 1 });
    expect(deviceSetup({ gpus: '4, 5,6,7' })).toEqual({ visible: '4,5,6,7', trainProcesses: 4, nodes: 1 });
    expect(deviceEnv(deviceSetup({ gpus: '0,1' }))).toEqual({ CUDA_VISIBLE_DEVICES: '0,1', IPA_TRAIN_PROCS: '2' });
  });

  it('--train-procs alone: CPU processes, or every GPU the machine shows', () => {
    expect(deviceSetup({})).toEqual({ trainProcesses: 1, nodes: 1 });
    expect(deviceSetup({ trainProcs: 2 })).toEqual({ trainProcesses: 2, nodes: 1 });
    expect(deviceEnv(deviceSetup({ trainProcs: 2 }))).toEqual({ IPA_TRAIN_PROCS: '2' });
    expect(deviceSetup({ gpus: '0,1', trainProcs: 2 }).trainProcesses).toBe(2);
  });

  it('--gpus takes ranges; --nodes says how many nodes each training job spans', () => {
    expect(deviceSetup({ gpus: '0-7', nodes: 2 })).toEqual({ visible: '0,1,2,3,4,5,6,7', trainProcesses: 8, nodes: 2 });
    expect(deviceSetup({ gpus: '0-1,6' }).visible).toBe('0,1,6');
    expect(deviceSetup({ trainProcs: 1, nodes: 2 })).toEqual({ trainProcesses: 1, nodes: 2 });
    expect(() => deviceSetup({ gpus: '3-1' })).toThrow('--gpus range "3-1" runs backwards');
    expect(() => deviceSetup({ gpus: '0-2,2' })).toThrow('lists a device twice');
    expect(() => deviceSetup({ nodes: 0 })).toThrow('--nodes takes a positive whole number');
  });

  it('flags that do not fit together are refused with the flag named', () => {
    expect(() => deviceSetup({ gpu: '0', gpus: '1,2' })).toThrow('--gpu and --gpus both given');
    expect(() => deviceSetup({ gpu: '0,1' })).toThrow('several: --gpus 0,1');
    expect(() => deviceSetup({ gpus: '0,x' })).toThrow('--gpus takes device indices');
    expect(() => deviceSetup({ gpus: '0,0' })).toThrow('lists a device twice');
    expect(() => deviceSetup({ gpus: '0,1,2,3', trainProcs: 2 })).toThrow(
      '--train-procs 2 does not match the 4 devices of --gpus',
    );
    expect(() => deviceSetup({ gpu: '0', trainProcs: 2 })).toThrow('--train-procs 2 needs as many devices');
  });

  it('ipa worker refuses them as a usage error before connecting anywhere', async () => {
    const err: string[] = [];
    const orig = console.error;
    console.error = (...a: unknown[]) => void err.push(a.join(' '));
    try {
      expect(await main(['worker', '--gpus', '0,1', '--train-procs', '3', '--redis-url', 'redis://127.0.0.1:1'])).toBe(
        ExitCode.usage,
      );
    } finally {
      console.error = orig;
    }
    expect(err.join('\n')).toContain('--train-procs 3 does not match the 2 devices of --gpus');
  });
});
