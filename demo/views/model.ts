/** Model picker (shipped models, a Hugging Face folder URL, or local files), load progress, and GPU details. */
import type { EngineInfo, LoadProgress } from '../../src/browser/index';
import { field, fill, h } from '../dom';
import { explain, hideBanner, showBanner } from '../errors';
import { bytes, bytesPerSecond, count } from '../format';
import type { ModelSource, Session } from '../session';

const BASE = import.meta.env.BASE_URL;
const SHIPPED = [
  { id: 'tiny-dense', label: 'tiny-dense · 4M Llama (shipped)' },
  { id: 'tiny-moe', label: 'tiny-moe · MoE (shipped)' },
];
/** Limits worth showing out of the adapter's long list. */
const KEY_LIMITS = ['maxBufferSize', 'maxStorageBufferBindingSize', 'maxComputeWorkgroupStorageSize', 'maxComputeInvocationsPerWorkgroup', 'maxComputeWorkgroupSizeX'];

/** `org/name` shorthand or a full URL; a hub repo page becomes its `resolve/main/` file root. */
export function huggingFaceFolder(input: string): string {
  const text = input.trim();
  if (/^[\w.-]+\/[\w.-]+$/.test(text)) return `https://huggingface.co/${text}/resolve/main/`;
  const url = new URL(text, location.href);
  if (url.hostname === 'huggingface.co' && !url.pathname.includes('/resolve/')) {
    url.pathname = `${url.pathname.replace(/\/(tree\/[^/]+)?\/?$/, '')}/resolve/main/`;
  }
  return url.href.endsWith('/') ? url.href : `${url.href}/`;
}

/** The files of a dropped or picked model folder: top-level files only (an `onnx/` subfolder is not ours). */
function topLevel(files: File[]): File[] {
  return files.filter((f) => (f.webkitRelativePath || f.name).split('/').length <= 2);
}

/** A dropped folder arrives as a directory entry (read its files); dropped files may come without entries. */
async function filesFromDrop(transfer: DataTransfer): Promise<File[]> {
  const entries = [...transfer.items].map((item) => item.webkitGetAsEntry()).filter((e): e is FileSystemEntry => !!e);
  if (entries.length === 0) return [...transfer.files];
  const files: File[] = [];
  for (const entry of entries) {
    if (entry.isFile) files.push(await new Promise<File>((resolve, reject) => (entry as FileSystemFileEntry).file(resolve, reject)));
    else if (entry.isDirectory) {
      const children = await new Promise<FileSystemEntry[]>((resolve, reject) => (entry as FileSystemDirectoryEntry).createReader().readEntries(resolve, reject));
      for (const child of children.filter((c) => c.isFile)) {
        files.push(await new Promise<File>((resolve, reject) => (child as FileSystemFileEntry).file(resolve, reject)));
      }
    }
  }
  return files;
}

export class ModelView {
  private readonly select = h('select', { testid: 'model-select' });
  private readonly url = h('input', { type: 'url', testid: 'model-url', placeholder: 'HuggingFaceTB/SmolLM2-135M or https://…/model-folder/' });
  private readonly picker = h('input', { type: 'file', testid: 'model-files', multiple: true, webkitdirectory: true });
  private readonly drop = h('div', { class: 'drop', testid: 'model-drop', tabindex: 0 }, 'Drop a model folder here (config.json, tokenizer.json, *.safetensors), or choose one: ');
  private readonly quantize = h('select', { testid: 'model-quantize' }, h('option', { value: '' }, 'as stored'), h('option', { value: 'q8' }, '8-bit'), h('option', { value: 'q4' }, '4-bit'));
  private readonly experts = h('select', { testid: 'model-experts', title: 'MoE models: routed experts per layer kept in GPU memory; the others stream in from CPU memory when routed to, with prefetch' },
    h('option', { value: '' }, 'all'), h('option', { value: '4' }, '4 per layer'), h('option', { value: '2' }, '2 per layer'));
  private readonly profile = h('input', { type: 'checkbox', testid: 'model-profile', checked: true });
  private readonly loadButton = h('button', { class: 'primary', testid: 'model-load' }, 'Load');
  private readonly cancelButton = h('button', { testid: 'model-cancel', disabled: true }, 'Cancel');
  private readonly progress = h('progress', { testid: 'load-progress', max: 1, value: 0 });
  private readonly status = h('div', { class: 'status', testid: 'load-status', 'aria-live': 'polite' }, 'No model loaded.');
  private readonly details = h('div', { class: 'info-grid', testid: 'model-info' });
  private files: File[] = [];
  private loading: AbortController | undefined;

  constructor(private readonly root: HTMLElement, private readonly session: Session) {
    for (const m of SHIPPED) this.select.append(h('option', { value: m.id }, m.label));
    this.select.append(h('option', { value: 'url' }, 'Hugging Face folder (URL)…'), h('option', { value: 'files' }, 'Local files…'));
    this.drop.append(this.picker);
    fill(root,
      h('h2', {}, 'Model'),
      h('div', { class: 'row' }, field('Source', this.select), field('Folder URL', this.url), field('Weights', this.quantize), field('Experts on GPU', this.experts),
        h('label', { class: 'check' }, this.profile, ' GPU timing'), h('div', { class: 'buttons' }, this.loadButton, this.cancelButton)),
      this.drop,
      h('div', { class: 'progress-row' }, this.progress, this.status),
      this.details,
    );
    this.select.addEventListener('change', () => {
      this.experts.value = ''; // a budget chosen for one model must not carry over to the next (a dense one refuses it)
      this.showSourceInputs();
    });
    this.picker.addEventListener('change', () => this.pickFiles([...(this.picker.files ?? [])]));
    this.drop.addEventListener('dragover', (e) => {
      e.preventDefault();
      this.drop.classList.add('over');
    });
    this.drop.addEventListener('dragleave', () => this.drop.classList.remove('over'));
    this.drop.addEventListener('drop', (e) => {
      e.preventDefault();
      this.drop.classList.remove('over');
      if (!e.dataTransfer) return;
      filesFromDrop(e.dataTransfer).then((files) => this.pickFiles(files), (error: unknown) => {
        this.status.textContent = `Could not read the dropped files: ${explain(error).message}`;
      });
    });
    this.loadButton.addEventListener('click', () => void this.load());
    this.cancelButton.addEventListener('click', () => this.loading?.abort());
    this.showSourceInputs();
  }

  /** Loads the selected source; resolves once the engine is ready or loading failed (shown in the banner). */
  async load(): Promise<void> {
    const source = this.source();
    if (!source) return;
    await this.track((onProgress, signal) =>
      this.session.load(source, {
        profile: this.profile.checked,
        ...(this.quantize.value ? { quantize: this.quantize.value as 'q8' | 'q4' } : {}),
        ...(this.experts.value && !this.experts.disabled ? { maxResidentExperts: Number(this.experts.value) } : {}),
      }, onProgress, signal));
  }

  /** Loads the same model again on a fresh device. */
  async reload(): Promise<void> {
    await this.track((onProgress, signal) => this.session.reload(onProgress, signal));
  }

  /** Marks the controls unusable (no WebGPU). */
  disable(reason: string): void {
    this.loadButton.disabled = true;
    this.status.textContent = reason;
    this.root.dataset.state = 'unavailable';
  }

  private async track(load: (onProgress: (p: LoadProgress) => void, signal: AbortSignal) => Promise<EngineInfo>): Promise<void> {
    const controller = new AbortController();
    this.loading = controller;
    this.setBusy(true);
    const started = performance.now();
    let total = 0;
    try {
      const info = await load((p) => {
        total = Math.max(total, p.totalBytes);
        this.showProgress(p, performance.now() - started);
      }, controller.signal);
      const elapsed = performance.now() - started;
      this.progress.value = 1;
      this.progress.max = 1;
      this.status.textContent = `Ready: ${info.architecture}, ${count(info.params)} parameters, loaded in ${(elapsed / 1000).toFixed(2)} s (${bytes(total)} at ${bytesPerSecond(total, elapsed)}).`;
      this.root.dataset.state = 'ready';
      this.showInfo(info);
      hideBanner();
    } catch (e) {
      const { problem, message } = explain(e);
      // the previous model was unloaded before this one started: its details no longer apply
      fill(this.details);
      this.root.dataset.state = problem === 'aborted' ? 'cancelled' : 'error';
      this.progress.value = 0;
      this.status.textContent = problem === 'aborted' ? 'Loading cancelled.' : `Loading failed. ${message}`;
      if (problem !== 'aborted') showBanner(problem, message);
    } finally {
      this.loading = undefined;
      this.setBusy(false);
    }
  }

  private source(): ModelSource | undefined {
    const choice = this.select.value;
    if (choice === 'url') {
      if (!this.url.value.trim()) {
        this.status.textContent = 'Enter a model folder URL first.';
        return undefined;
      }
      return { kind: 'url', url: huggingFaceFolder(this.url.value) };
    }
    if (choice === 'files') {
      if (this.files.length === 0) {
        this.status.textContent = 'Drop a model folder or choose its files first.';
        return undefined;
      }
      return { kind: 'files', files: this.files };
    }
    // the shipped models find their shared n-gram table (`../ngrams-bpe2048.bin`) by themselves
    return { kind: 'url', url: new URL(`${BASE}models/${choice}/`, location.href).href };
  }

  private pickFiles(files: File[]): void {
    this.files = topLevel(files);
    this.select.value = 'files';
    this.showSourceInputs();
    this.status.textContent = `${this.files.length} files chosen: ${this.files.map((f) => f.name).join(', ')}`;
  }

  private showSourceInputs(): void {
    const choice = this.select.value;
    this.url.closest('label')!.hidden = choice !== 'url';
    this.drop.hidden = choice !== 'files';
    this.experts.disabled = choice === 'tiny-dense'; // the shipped dense model has no experts to budget
  }

  private setBusy(busy: boolean): void {
    this.root.dataset.state = busy ? 'loading' : this.root.dataset.state ?? '';
    this.loadButton.disabled = busy;
    this.cancelButton.disabled = !busy;
    this.select.disabled = busy;
  }

  private showProgress(p: LoadProgress, elapsedMs: number): void {
    if (p.totalBytes > 0) {
      this.progress.max = p.totalBytes;
      this.progress.value = p.loadedBytes;
    } else {
      this.progress.removeAttribute('value');
    }
    const file = p.file ? ` · ${p.file}` : '';
    const amount = p.totalBytes > 0 ? ` · ${bytes(p.loadedBytes)} / ${bytes(p.totalBytes)} · ${bytesPerSecond(p.loadedBytes, elapsedMs)}` : '';
    this.status.textContent = `Loading: ${p.phase}${file}${amount}`;
  }

  private showInfo(info: EngineInfo): void {
    const rows: [string, string][] = [
      ['architecture', info.architecture],
      ['parameters', count(info.params)],
      ['layers × hidden', `${info.layers} × ${info.hidden}`],
      ['heads (kv) × dim', `${info.heads} (${info.kvHeads}) × ${info.headDim}`],
      ['vocabulary', count(info.vocab)],
      ['context', `${count(info.contextLength)} tokens`],
      ['weights', info.dtype],
      ...(info.experts ? [['experts', `${info.expertsPerToken} of ${info.experts} per token`] as [string, string]] : []),
    ];
    const adapter = info.adapter;
    const rank = (name: string) => (KEY_LIMITS.includes(name) ? KEY_LIMITS.indexOf(name) : KEY_LIMITS.length);
    const limits = Object.entries(adapter.limits).sort(([a], [b]) => rank(a) - rank(b) || a.localeCompare(b));
    fill(this.details,
      h('dl', { testid: 'model-facts' }, ...rows.flatMap(([k, v]) => [h('dt', {}, k), h('dd', {}, v)])),
      h('div', { testid: 'adapter-info' },
        h('div', { class: 'adapter' }, h('strong', { testid: 'adapter-description' }, adapter.description || 'unnamed adapter'),
          adapter.isSoftware ? h('span', { class: 'badge warn' }, 'software (CPU) adapter') : h('span', { class: 'badge' }, 'hardware')),
        h('div', { class: 'features', testid: 'adapter-features' }, ...adapter.features.map((f) => h('span', { class: 'chip' }, f))),
        h('details', {}, h('summary', {}, 'limits'),
          h('dl', { class: 'limits', testid: 'adapter-limits' }, ...limits.flatMap(([k, v]) => [h('dt', {}, k), h('dd', {}, count(v))])))),
    );
  }
}
