// The playground's script: languages from GET /v1/languages, Run posts a job and follows its events.
const $ = (id) => document.getElementById(id);

const SAMPLES = {
  python: 'print("hello from the playground")\n',
  javascript: 'console.log("hello from the playground");\n',
  bash: 'echo "hello from the playground"\n',
  c: '#include <stdio.h>\nint main(void) { puts("hello from the playground"); return 0; }\n',
  cpp: '#include <iostream>\nint main() { std::cout << "hello from the playground" << std::endl; }\n',
  java: 'public class Main { public static void main(String[] a) { System.out.println("hello from the playground"); } }\n',
};

function headers() {
  const token = $('token').value.trim();
  return token ? { 'content-type': 'application/json', 'x-auth-token': token } : { 'content-type': 'application/json' };
}

function show(result) {
  $('verdict').textContent = result.status;
  $('verdict').className = result.status === 'accepted' ? 'accepted' : 'failed';
  $('time').textContent = `${result.timeMs} ms`;
  $('memory').textContent = `${result.memoryKb} KB`;
  $('stdout').textContent = result.stdout;
  $('stderr').textContent = result.stderr;
  $('message').textContent = [result.compileOutput, result.message].filter(Boolean).join('\n');
}

async function loadLanguages() {
  const res = await fetch('/v1/languages', { headers: headers() });
  const select = $('language');
  select.textContent = '';
  for (const l of await res.json()) {
    const option = document.createElement('option');
    option.value = l.name;
    option.textContent = `${l.name}${l.version ? ` ${l.version}` : ''}${l.compiled ? ' (compiled)' : ''}`;
    select.append(option);
  }
  select.value = 'python';
}

async function run() {
  $('run').disabled = true;
  for (const id of ['verdict', 'time', 'memory', 'stdout', 'stderr', 'message']) $(id).textContent = '';
  $('state').textContent = 'submitting';
  try {
    const job = {
      language: $('language').value,
      code: $('code').value,
      stdin: $('stdin').value,
      timeLimitMs: Number($('timeLimitMs').value),
      memoryLimitMb: Number($('memoryLimitMb').value),
    };
    const res = await fetch('/v1/jobs', { method: 'POST', headers: headers(), body: JSON.stringify(job) });
    const body = await res.json();
    if (res.status !== 202) {
      $('verdict').textContent = `refused (${res.status})`;
      $('verdict').className = 'failed';
      $('message').textContent = [body.error, ...(body.details ?? []).map((d) => `${d.path}: ${d.message}`)].join('\n');
      return;
    }
    const token = $('token').value.trim();
    const events = new EventSource(`/v1/jobs/${encodeURIComponent(body.id)}/events${token ? `?X-Auth-Token=${encodeURIComponent(token)}` : ''}`);
    await new Promise((resolve) => {
      events.addEventListener('queued', () => ($('state').textContent = 'queued'));
      events.addEventListener('running', () => ($('state').textContent = 'running'));
      events.addEventListener('finished', (e) => {
        $('state').textContent = 'finished';
        show(JSON.parse(e.data));
        events.close();
        resolve();
      });
      events.onerror = () => {
        $('state').textContent = 'lost the event stream';
        events.close();
        resolve();
      };
    });
  } catch (err) {
    $('state').textContent = `error: ${err.message}`;
  } finally {
    $('run').disabled = false;
  }
}

$('language').addEventListener('change', () => ($('code').value = SAMPLES[$('language').value] ?? ''));
$('run').addEventListener('click', () => void run());
loadLanguages().catch((err) => ($('state').textContent = `could not load languages: ${err.message}`));
