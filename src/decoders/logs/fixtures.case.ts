// Small hand-written fixtures, one set per log format: the shared conformance suite (logs.test.ts)
// and the hostile-input suite (hostile.test.ts) run over all of them. Invented values.

import type { LogFormat, LogParseOptions } from './types.js';

export interface Fixture {
  name: string;
  /** The format detection must choose. */
  format: LogFormat;
  lines: string[];
  /** Records expected after multi-line joining. */
  records: number;
  opts?: LogParseOptions;
}

export const FIXTURES: Fixture[] = [
  {
    name: 'nginx json access (escape=json, all values quoted)',
    format: 'json',
    records: 3,
    lines: [
      '{"time_iso8601":"2025-03-04T10:00:01+01:00","remote_addr":"192.0.2.7","request_method":"POST","request_uri":"/v1/chat/completions","status":"200","body_bytes_sent":"512","request_time":"0.250","upstream_response_time":"0.240","http_x_request_id":"req-aaa1","http_user_agent":"bench/1.0"}',
      '{"time_iso8601":"2025-03-04T10:00:02+01:00","remote_addr":"192.0.2.8","request_method":"GET","request_uri":"/healthz","status":"200","body_bytes_sent":"2","request_time":"0.001","upstream_response_time":"-","http_x_request_id":"req-aaa2","http_user_agent":"kube-probe/1.29"}',
      '{"time_iso8601":"2025-03-04T10:00:03+01:00","remote_addr":"192.0.2.9","request_method":"POST","request_uri":"/v1/completions","status":"502","body_bytes_sent":"150","request_time":"3.001","upstream_response_time":"1.000, 2.000","http_x_request_id":"req-aaa3","http_user_agent":"bench/1.0"}',
    ],
  },
  {
    name: 'app json with nested objects and epoch ms',
    format: 'json',
    records: 2,
    lines: [
      '{"ts":1741082400123,"severity":"warning","msg":"slow batch","model":{"name":"resnet-50","version":3},"latency_ms":812.5,"trace_id":"4bf92f3577b34da6a3ce929d0e0e4736","span_id":"00f067aa0ba902b7","tags":["gpu","batch"]}',
      '{"ts":1741082401456,"severity":"info","msg":"batch done","model":{"name":"resnet-50","version":3},"latency_ms":20,"request":{"id":"r-77","method":"post","path":"/predict"}}',
    ],
  },
  {
    name: 'python json.dumps style (spaces after separators), structlog event',
    format: 'json',
    records: 2,
    lines: [
      '{"ts": "2025-03-04T07:40:29.418Z", "level": "INFO", "logger": "model_server", "event": "prediction", "request_id": "abc123", "model": "m1", "inference_ms": 11.5, "status": 200}',
      '{ "ts" : "2025-03-04T07:40:30Z" , "level" : "ERROR" , "event" : "failed" , "ok" : false , "n" : null }',
    ],
  },
  {
    name: 'TGI tracing json',
    format: 'tgi',
    records: 2,
    lines: [
      '{"timestamp":"2025-03-04T09:00:00.000001Z","level":"INFO","fields":{"message":"Connected"},"target":"text_generation_router"}',
      '{"timestamp":"2025-03-04T09:00:01.5Z","level":"INFO","message":"Success","target":"text_generation_router::server","span":{"total_time":"1.25s","inference_time":"1.2s","queue_time":"40ms","name":"generate"}}',
    ],
  },
  {
    name: 'docker json-file with a split line',
    format: 'docker-json',
    records: 3,
    lines: [
      '{"log":"INFO:     10.1.2.3:4000 - \\"GET /ready HTTP/1.1\\" 200 OK\\n","stream":"stdout","time":"2025-03-04T08:00:00.123456789Z"}',
      '{"log":"first half of a long line, ","stream":"stderr","time":"2025-03-04T08:00:01.000000001Z"}',
      '{"log":"second half\\n","stream":"stderr","time":"2025-03-04T08:00:01.000000002Z"}',
      '{"log":"{\\"level\\":\\"error\\",\\"msg\\":\\"boom\\"}\\n","stream":"stdout","time":"2025-03-04T08:00:02Z"}',
    ],
  },
  {
    name: 'CRI with partial lines',
    format: 'cri',
    records: 2,
    lines: [
      '2025-03-04T08:00:00.000000001Z stdout P 2025-03-04 08:00:00,001 INFO worker: part one ',
      '2025-03-04T08:00:00.000000002Z stdout F and part two',
      '2025-03-04T08:00:01.000000000Z stderr F ERROR:root:something failed',
    ],
  },
  {
    name: 'logfmt',
    format: 'logfmt',
    records: 2,
    lines: [
      'time=2025-03-04T07:00:00Z level=info msg="request done" method=GET path=/v1/models status=200 duration=12.5ms request_id=abc',
      'time=2025-03-04T07:00:01Z level=error msg="upstream \\"timeout\\"" status=504 duration=30s',
    ],
  },
  {
    name: 'syslog RFC 3164',
    format: 'syslog-3164',
    records: 2,
    opts: { referenceYear: 2024 },
    lines: [
      '<34>Oct  3 22:14:15 gpu-node-1 kubelet[2211]: Pod sandbox changed',
      'Oct 11 09:01:02 gpu-node-1 kernel: NVRM: Xid 79, GPU has fallen off the bus',
    ],
  },
  {
    name: 'syslog RFC 5424',
    format: 'syslog-5424',
    records: 2,
    lines: [
      '<165>1 2025-03-04T22:14:15.003Z host7 inferd 4321 ID47 [req@32473 request_id="r-1" model="llama"] model loaded',
      '<11>1 2025-03-04T22:14:16Z host7 inferd - - - out of memory',
    ],
  },
  {
    name: 'nginx combined with extras',
    format: 'nginx-combined',
    records: 2,
    lines: [
      '198.51.100.4 - - [04/Mar/2025:10:00:00 +0000] "POST /v1/embeddings HTTP/1.1" 200 1024 "-" "client/2.0" rt=0.050 uct="0.001" urt="0.048" rid=f00dcafe',
      '198.51.100.5 - alice [04/Mar/2025:10:00:01 +0000] "GET /v1/models?x=1 HTTP/2.0" 404 12 "https://ref.example/" "client/2.0" "extra quoted" rt=0.002',
    ],
  },
  {
    name: 'common log format',
    format: 'common',
    records: 2,
    lines: [
      '203.0.113.1 - - [04/Mar/2025:11:00:00 -0500] "GET /index.html HTTP/1.0" 200 2326',
      '203.0.113.2 - bob [04/Mar/2025:11:00:02 -0500] "POST /form HTTP/1.1" 500 -',
    ],
  },
  {
    name: 'nginx error',
    format: 'nginx-error',
    records: 2,
    lines: [
      '2025/03/04 10:00:05 [error] 31#31: *8 upstream timed out (110: Connection timed out) while reading response header from upstream, client: 198.51.100.4, server: api, request: "POST /v1/chat/completions HTTP/1.1", upstream: "http://10.0.0.2:8000/v1/chat/completions", host: "api.example"',
      '2025/03/04 10:00:06 [notice] 1#1: signal process started',
    ],
  },
  {
    name: 'apache error',
    format: 'apache-error',
    records: 2,
    lines: [
      '[Tue Mar 04 10:00:00 2025] [error] [client 192.0.2.1] File does not exist: /var/www/favicon.ico',
      '[Tue Mar 04 10:00:01.123456 2025] [proxy:warn] [pid 77] AH01144: No protocol handler',
    ],
  },
  {
    name: 'uvicorn default + access',
    format: 'uvicorn-access',
    records: 4,
    lines: [
      'INFO:     Started server process [4242]',
      'INFO:     127.0.0.1:51000 - "POST /predict HTTP/1.1" 200 OK',
      'INFO:     127.0.0.1:51001 - "GET /missing HTTP/1.1" 404 Not Found',
      'ERROR:    Exception in ASGI application',
      'Traceback (most recent call last):',
      '  File "/app/main.py", line 10, in predict',
      '    raise ValueError("bad input")',
      'ValueError: bad input',
    ],
  },
  {
    name: 'gunicorn error log',
    format: 'gunicorn-error',
    records: 3,
    lines: [
      '[2025-03-04 12:00:00 +0000] [100] [INFO] Starting gunicorn 22.0.0',
      '[2025-03-04 12:00:00 +0000] [100] [INFO] Listening at: http://0.0.0.0:8000 (100)',
      '[2025-03-04 12:00:31 +0000] [100] [CRITICAL] WORKER TIMEOUT (pid:101)',
    ],
  },
  {
    name: 'gunicorn access (default format, forced)',
    format: 'gunicorn-access',
    records: 1,
    opts: { format: 'gunicorn-access' },
    lines: [
      '10.0.0.9 - - [04/Mar/2025:12:00:01 +0000] "GET /health HTTP/1.1" 200 2 "-" "curl/8.5.0"',
    ],
  },
  {
    name: 'python logging (asctime - name - level - message) with traceback',
    format: 'python-logging',
    records: 3,
    lines: [
      '2025-03-04 12:00:00,123 - trainer - INFO - epoch 1 done',
      '2025-03-04 12:00:05,456 - trainer - ERROR - step failed',
      'Traceback (most recent call last):',
      '  File "train.py", line 3, in <module>',
      '    step()',
      'RuntimeError: CUDA out of memory',
      '2025-03-04 12:00:06,000 - trainer - WARNING - retrying',
    ],
  },
  {
    name: 'python logging basicConfig default',
    format: 'python-logging',
    records: 2,
    lines: ['WARNING:root:disk almost full', 'INFO:data.loader:loaded 128 shards'],
  },
  {
    name: 'java-style log4j with stack trace',
    format: 'python-logging',
    records: 2,
    lines: [
      '2025-03-04 12:00:00,001 ERROR [main] com.example.Server: request failed',
      'java.lang.IllegalStateException: broken',
      '\tat com.example.Server.handle(Server.java:42)',
      '\tat com.example.Server.run(Server.java:10)',
      'Caused by: java.io.IOException: reset',
      '\t... 2 more',
      '2025-03-04 12:00:01,001 INFO [main] com.example.Server: recovered',
    ],
  },
  {
    name: 'vLLM with engine stats and uvicorn lines',
    format: 'vllm',
    records: 4,
    opts: { referenceYear: 2025 },
    lines: [
      'INFO 03-04 12:00:00 [api_server.py:100] Starting vLLM API server on http://0.0.0.0:8000',
      '(APIServer pid=11) INFO:     10.0.0.1:40000 - "POST /v1/chat/completions HTTP/1.1" 200 OK',
      'INFO 03-04 12:00:10 [loggers.py:120] Engine 000: Avg prompt throughput: 120.5 tokens/s, Avg generation throughput: 33.0 tokens/s, Running: 4 reqs, Waiting: 2 reqs, GPU KV cache usage: 87.5%, Prefix cache hit rate: 12.0%',
      'WARNING 03-04 12:00:11 scheduler.py:1200] Sequence group 7 is preempted by PreemptionMode.RECOMPUTE mode because there is not enough KV cache space. total_num_cumulative_preemption=3',
    ],
  },
  {
    name: 'Triton glog',
    format: 'triton',
    records: 3,
    opts: { referenceYear: 2025 },
    lines: [
      'I0304 12:00:00.000100 77 server.cc:600] Started HTTPService at 0.0.0.0:8000',
      'I0304 12:00:01.000200 77 model_lifecycle.cc:400] loading: resnet:1',
      "E0304 12:00:02.000300 77 model_lifecycle.cc:600] failed to load 'resnet' version 1: Invalid argument",
    ],
  },
  {
    name: 'TorchServe',
    format: 'torchserve',
    records: 3,
    lines: [
      '2025-03-04T12:00:00,100 [INFO ] epollEventLoopGroup-3-1 ACCESS_LOG - /10.0.0.3:5000 "POST /predictions/bert HTTP/1.1" 200 37',
      '2025-03-04T12:00:00,101 [INFO ] epollEventLoopGroup-3-1 TS_METRICS - Requests2XX.Count:1.0|#Level:Host|#hostname:ts-0,timestamp:1741089600',
      '2025-03-04T12:00:00,099 [INFO ] W-9000-bert_1.0-stdout MODEL_LOG - result=[METRICS]PredictionTime.Milliseconds:31.5|#ModelName:bert,Level:Model|#hostname:ts-0,1741089600,0f0e0d0c-0b0a-4909-8807-060504030201, pattern=[METRICS]',
    ],
  },
  {
    name: 'Ray Serve',
    format: 'ray-serve',
    records: 3,
    lines: [
      "(ServeController pid=900) INFO 2025-03-04 12:00:00,000 controller 900 -- Deploying new version of Deployment(name='Echo')",
      'INFO 2025-03-04 12:00:01,500 default_Echo x8k2 8f2c9b3a-6d1e-4f5a-9b7c-2d3e4f5a6b7c /echo -- POST /echo 200 12.5ms',
      '2025-03-04 12:00:02,000\tINFO worker.py:1000 -- Connecting to existing Ray cluster',
    ],
  },
  {
    name: 'Envoy default access log',
    format: 'envoy',
    records: 2,
    lines: [
      '[2025-03-04T08:00:00.123Z] "POST /v1/chat/completions HTTP/1.1" 200 - 512 2048 842 840 "10.0.0.1" "python-requests/2.31" "7f1c2d3e-aaaa-bbbb-cccc-1234567890ab" "llm.internal" "10.0.1.5:8000"',
      '[2025-03-04T08:00:01.456Z] "POST /v1/chat/completions HTTP/1.1" 503 UF 512 91 30001 - "-" "openai-python/1.30" "8f1c2d3e-aaaa-bbbb-cccc-1234567890ab" "llm.internal" "10.0.1.5:8000"',
    ],
  },
  {
    name: 'Istio sidecar access log',
    format: 'envoy',
    records: 1,
    lines: [
      '[2025-03-04T08:00:00.123Z] "POST /v1/chat/completions HTTP/1.1" 504 UT upstream_response_timeout - "-" 512 24 30000 - "10.0.0.1" "openai-python/1.30" "9f1c2d3e-aaaa-bbbb-cccc-1234567890ab" "llm.default.svc.cluster.local:8000" "10.0.1.5:8000" outbound|8000||llm.default.svc.cluster.local 10.0.0.9:40512 10.96.0.12:8000 10.0.0.1:51000 - default',
    ],
  },
  {
    name: 'HAProxy HTTP log through syslog',
    format: 'haproxy',
    records: 2,
    opts: { referenceYear: 2025 },
    lines: [
      'Mar  4 08:00:00 lb1 haproxy[1234]: 10.0.0.1:51234 [04/Mar/2025:08:00:00.123] fe_http be_llm/srv1 0/0/1/840/842 200 2048 - - ---- 10/10/2/1/0 0/0 "POST /v1/chat/completions HTTP/1.1"',
      'Mar  4 08:00:01 lb1 haproxy[1234]: 10.0.0.2:51235 [04/Mar/2025:08:00:01.456] fe_http be_llm/srv1 0/0/-1/-1/30001 503 212 - - sC-- 10/10/2/1/3 0/0 "POST /v1/chat/completions HTTP/1.1"',
    ],
  },
  {
    name: 'HAProxy HTTP log, raw (log stdout format raw), captured headers',
    format: 'haproxy',
    records: 1,
    lines: [
      '10.0.0.1:51234 [04/Mar/2025:08:00:00.123] fe_http be_llm/srv1 0/3/1/840/845 200 2048 - - ---- 10/10/2/1/0 0/2 {llm.example.com|req-9} "POST /v1/chat/completions HTTP/1.1"',
    ],
  },
  {
    name: 'AWS ALB and Classic ELB access logs',
    format: 'aws-alb',
    records: 3,
    lines: [
      'https 2025-03-04T08:00:00.842000Z app/ml-alb/50dc6c495c0c9188 192.0.2.7:2817 10.0.1.5:8000 0.001 0.840 0.001 200 200 512 2048 "POST https://llm.example.com:443/v1/chat/completions HTTP/1.1" "python-requests/2.31" ECDHE-RSA-AES128-GCM-SHA256 TLSv1.2 arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/llm/73e2d6bc24d8a067 "Root=1-67c6b3a0-36d228ad5d99923122bbe354" "llm.example.com" "arn:aws:acm:us-east-1:123456789012:certificate/abc" 0 2025-03-04T08:00:00.000000Z "forward" "-" "-" "10.0.1.5:8000" "200" "-" "-" TID_01',
      'h2 2025-03-04T08:01:00.000000Z app/ml-alb/50dc6c495c0c9188 192.0.2.8:2818 10.0.1.5:8000 0.000 -1 -1 504 - 512 0 "POST https://llm.example.com:443/v1/chat/completions HTTP/2.0" "openai-python/1.30" ECDHE-RSA-AES128-GCM-SHA256 TLSv1.2 arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/llm/73e2d6bc24d8a067 "Root=1-67c6b3dc-36d228ad5d99923122bbe355" "llm.example.com" "-" 0 2025-03-04T08:00:00.000000Z "forward" "-" "-" "10.0.1.5:8000" "-" "-" "-" TID_02',
      '2025-03-04T08:02:00.000000Z classic-elb 192.0.2.9:2819 10.0.1.6:80 0.000073 0.001048 0.000057 200 200 0 29 "GET http://llm.example.com:80/health HTTP/1.1" "curl/8.5.0" - -',
    ],
  },
  {
    name: 'ingress-nginx (Kubernetes) default access format',
    format: 'nginx-combined',
    records: 2,
    lines: [
      '192.0.2.10 - - [04/Mar/2025:08:00:00 +0000] "POST /v1/predict HTTP/1.1" 200 366 "-" "python-requests/2.31" 512 0.812 [default-model-8080] [] 10.244.1.5:8080 366 0.810 200 8f3c2a1b9d7e6f5a4b3c2d1e0f9a8b7c',
      '192.0.2.12 - - [04/Mar/2025:08:00:02 +0000] "POST /v1/predict HTTP/1.1" 200 366 "-" "curl/8.5.0" 498 1.201 [default-model-8080] [] 10.244.1.5:8080, 10.244.1.6:8080 0, 366 0.400, 0.790 502, 200 af3c2a1b9d7e6f5a4b3c2d1e0f9a8b7e',
    ],
  },
  {
    name: 'Traefik common log format',
    format: 'nginx-combined',
    records: 1,
    lines: [
      '192.0.2.5 - - [04/Mar/2025:08:00:00 +0000] "POST /v1/predict HTTP/1.1" 200 366 "-" "curl/8.5.0" 42 "model@docker" "http://172.17.0.3:8000" 812ms',
    ],
  },
  {
    name: 'JSON access logs of Caddy, Traefik, Cloud Run and ECS',
    format: 'json',
    records: 4,
    lines: [
      '{"level":"info","ts":1741075200.123456,"logger":"http.log.access.log0","msg":"handled request","request":{"remote_ip":"192.0.2.20","remote_port":"41342","proto":"HTTP/1.1","method":"POST","host":"llm.local","uri":"/v1/chat/completions","headers":{"User-Agent":["curl/8.5.0"],"X-Request-Id":["req-42"]}},"bytes_read":120,"duration":0.842107,"size":5320,"status":200}',
      '{"ClientAddr":"192.0.2.21:51234","ClientHost":"192.0.2.21","DownstreamContentSize":366,"DownstreamStatus":502,"Duration":5123456,"OriginDuration":5000000,"OriginStatus":502,"RequestMethod":"POST","RequestPath":"/v1/predict","RequestProtocol":"HTTP/1.1","RouterName":"model@docker","StartUTC":"2025-03-04T08:00:01.123456789Z","level":"info","msg":"","time":"2025-03-04T08:00:01Z"}',
      '{"httpRequest":{"requestMethod":"POST","requestUrl":"https://model-abc.a.run.app/v1/predict","status":200,"latency":"0.812345s","remoteIp":"192.0.2.22"},"timestamp":"2025-03-04T08:00:02.000Z","severity":"INFO","trace":"projects/p/traces/4bf92f3577b34da6a3ce929d0e0e4736"}',
      '{"@timestamp":"2025-03-04T08:00:03.000Z","log.level":"info","message":"request handled","http.request.method":"POST","url.path":"/v1/predict","http.response.status_code":200,"client.ip":"192.0.2.23","event.duration":5123000,"trace.id":"4bf92f3577b34da6a3ce929d0e0e4737","service.name":"model-api"}',
    ],
  },
  {
    name: 'Spring Boot 2 and 3 console lines with a Java stack trace',
    format: 'spring-boot',
    records: 3,
    lines: [
      '2026-11-20 10:15:30.123  INFO 12345 --- [nio-8080-exec-1] c.e.model.PredictController              : Prediction done in 812 ms',
      '2026-11-20 10:15:31.456 ERROR 12345 --- [nio-8080-exec-2] o.a.c.c.C.[.[.[/].[dispatcherServlet]    : Servlet.service() for servlet [dispatcherServlet] threw exception',
      'java.lang.OutOfMemoryError: Java heap space',
      '\tat com.example.model.Predictor.predict(Predictor.java:42)',
      '\tat com.example.model.PredictController.predict(PredictController.java:27)',
      'Caused by: java.lang.IllegalStateException: tensor pool exhausted',
      '\t... 2 more',
      '2026-11-20T10:15:32.789+01:00  WARN 12345 --- [model-api] [           main] [4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7] c.e.model.ModelLoader                    : Model warm-up took 2100 ms',
    ],
  },
  {
    name: 'Gin access log (Ollama)',
    format: 'gin',
    records: 3,
    lines: [
      '[GIN-debug] POST   /api/generate             --> github.com/ollama/ollama/server.(*Server).GenerateHandler-fm (5 handlers)',
      '[GIN] 2026/11/20 - 10:15:30 | 200 |  812.345678ms |       127.0.0.1 | POST     "/api/generate"',
      '[GIN] 2026/11/20 - 10:15:31 | 500 |         1m2.5s |      10.0.0.12 | POST     "/api/chat"',
    ],
  },
  {
    name: 'uWSGI request log',
    format: 'uwsgi',
    records: 3,
    lines: [
      '[pid: 123|app: 0|req: 1/1] 10.0.0.1 () {34 vars in 456 bytes} [Fri Nov 20 10:15:30 2026] POST /predict => generated 366 bytes in 812 msecs (HTTP/1.1 200) 2 headers in 79 bytes (1 switches on core 0)',
      '[pid: 124|app: 0|req: 2/3] 10.0.0.2 (alice) {36 vars in 512 bytes} [Fri Nov 20 10:15:31 2026] GET /health?full=1 => generated 2 bytes in 812345 micros (HTTP/1.0 503) 2 headers in 79 bytes (1 switches on core 1)',
      'Fri Nov 20 10:15:32 2026 - [pid: 125|app: -|req: -/-] 10.0.0.3 () {34 vars in 456 bytes} [Fri Nov 20 10:15:32 2026] GET /x => generated 0 bytes in 3 msecs (HTTP/1.1 404) 2 headers in 79 bytes (1 switches on core 0)',
    ],
  },
  {
    name: 'BentoML server and access lines',
    format: 'bentoml',
    records: 3,
    lines: [
      '2026-11-20T10:15:29+0000 [INFO] [cli] Starting production HTTP BentoServer from "service:svc" listening on http://0.0.0.0:3000 (Press CTRL+C to quit)',
      '2026-11-20T10:15:30+0000 [INFO] [api_server:1] 10.0.0.1:5000 (scheme=http,method=POST,path=/predict,type=application/json,length=100) (status=200,type=application/json,length=366) 812.345ms (trace=4bf92f3577b34da6a3ce929d0e0e4736,span=00f067aa0ba902b7,sampled=0,service.name=iris_classifier)',
      '2026-11-20T10:15:31+0100 [ERROR] [runner:iris_clf:1] _ (scheme=http,method=POST,path=/predict,type=application/octet-stream,length=30) (status=500,type=text/plain; charset=utf-8,length=21) 3.1ms (trace=67131233608323295915755120473254509377,span=4151694932783368069,sampled=1)',
    ],
  },
  {
    name: 'Tornado (KServe v1 model server) and Jupyter',
    format: 'tornado',
    records: 4,
    lines: [
      '[I 201120 10:15:29 model_server:150] Registering model: sklearn-iris',
      '[I 201120 10:15:30 web:2239] 200 POST /v2/models/sklearn-iris/infer (127.0.0.1) 812.34ms',
      '[W 201120 10:15:31 web:2239] 503 POST /v2/models/x/infer (127.0.0.1) 2.10ms',
      '[I 2026-11-20 10:15:32.123 ServerApp] 200 GET /api/kernels (::1) 1.23ms',
    ],
  },
  {
    name: 'Rust tracing-subscriber fmt (TGI router, tower-http)',
    format: 'rust-tracing',
    records: 4,
    lines: [
      '2026-11-20T10:15:29.000001Z  INFO text_generation_router::server: router/src/server.rs:2311: Connected',
      '2026-11-20T10:15:30.123456Z  INFO request{method=POST uri=/v1/predict version=HTTP/1.1}: tower_http::trace::on_response: finished processing request latency=812 ms status=200',
      '2026-11-20T10:15:30.223456Z  WARN text_generation_router::infer: Queue is full',
      '2026-11-20T10:15:31.000002Z  INFO generate{parameters=GenerateParameters { best_of: None, temperature: Some(0.7), stop: ["a b=c"] } total_time="735.200735ms" validation_time="955.594µs" queue_time="73.176µs" inference_time="734.172108ms" time_per_token="36.708605ms" seed="None"}: text_generation_router::server: router/src/server.rs:622: Success',
    ],
  },
  {
    name: 'SGLang server with scheduler stats',
    format: 'sglang',
    records: 4,
    lines: [
      "[2026-11-20 10:15:28] server_args=ServerArgs(model_path='meta-llama/Llama-3.1-8B-Instruct', tp_size=2)",
      '[2026-11-20 10:15:29] INFO:     127.0.0.1:40000 - "POST /generate HTTP/1.1" 200 OK',
      '[2026-11-20 10:15:30 TP0] Decode batch. #running-req: 5, #token: 1234, token usage: 0.05, gen throughput (token/s): 250.30, #queue-req: 0',
      '[2026-11-20 10:15:31 TP0] Prefill batch. #new-seq: 1, #new-token: 512, #cached-token: 0, token usage: 0.06, #running-req: 5, #queue-req: 3',
    ],
  },
  {
    name: 'W3C extended log (IIS): header blocks, + for spaces, time-taken in ms',
    format: 'w3c',
    records: 4,
    lines: [
      '#Software: Microsoft Internet Information Services 10.0',
      '#Version: 1.0',
      '#Date: 2026-11-20 10:15:29',
      '#Fields: date time s-ip cs-method cs-uri-stem cs-uri-query s-port cs-username c-ip cs(User-Agent) cs(Referer) sc-status sc-substatus sc-win32-status time-taken',
      '2026-11-20 10:15:30 10.0.0.5 POST /api/predict - 443 - 192.0.2.10 Mozilla/5.0+(Windows+NT+10.0;+Win64;+x64) - 200 0 0 812',
      '2026-11-20 10:15:31 10.0.0.5 GET /health full=1 443 alice 192.0.2.11 curl/8.5.0 https://ref.example/ 503 2 64 3',
      // the site restarted with more fields (a new header block)
      '#Software: Microsoft Internet Information Services 10.0',
      '#Version: 1.0',
      '#Date: 2026-11-20 11:00:00',
      '#Fields: date time s-ip cs-method cs-uri-stem cs-uri-query s-port c-ip cs-version cs(User-Agent) cs-host sc-status sc-bytes cs-bytes time-taken X-Forwarded-For',
      '2026-11-20 11:00:01 10.0.0.5 POST /api/predict model=m1 443 10.0.0.2 HTTP/1.1 python-requests/2.31 api.example.com 200 366 512 1250 203.0.113.9,10.0.0.2',
      '2026-11-20 11:00:02 10.0.0.5 POST /api/predict - 443 10.0.0.2 HTTP/2 - - 500 0 512 30001 -',
    ],
  },
  {
    name: 'W3C extended log (CloudFront standard log): tabs, seconds, %-encoded user agents',
    format: 'w3c',
    records: 3,
    lines: [
      '#Version: 1.0',
      '#Fields: date time x-edge-location sc-bytes c-ip cs-method cs(Host) cs-uri-stem sc-status cs(Referer) cs(User-Agent) cs-uri-query cs(Cookie) x-edge-result-type x-edge-request-id x-host-header cs-protocol cs-bytes time-taken x-forwarded-for ssl-protocol ssl-cipher x-edge-response-result-type cs-protocol-version fle-status fle-encrypted-fields c-port time-to-first-byte x-edge-detailed-result-type sc-content-type sc-content-len sc-range-start sc-range-end',
      [
        ...['2026-11-20', '10:15:30', 'LAX50-P1', '5320', '192.0.2.100', 'POST'],
        ...['d111111abcdef8.cloudfront.net', '/v1/chat/completions', '200', '-'],
        ...['OpenAI/Python%201.30.0%20(linux;%20x86_64)', '-', '-', 'Miss'],
        ...['SOX4xwn4XV6Q4rgb7XiVGOHms_BGlTAC4KyHmureZmBNrjGdRLiNIQ==', 'llm.example.com'],
        ...['https', '512', '0.842', '-', 'TLSv1.3', 'TLS_AES_128_GCM_SHA256', 'Miss'],
        ...['HTTP/2.0', '-', '-', '51234', '0.120', 'Miss', 'text/event-stream', '-', '-', '-'],
      ].join('\t'),
      [
        ...['2026-11-20', '10:15:31', 'LAX50-P1', '412', '192.0.2.101', 'POST'],
        ...['d111111abcdef8.cloudfront.net', '/v1/chat/completions', '504', '-'],
        ...['curl/8.5.0', 'stream=true', '-', 'Error'],
        ...['k6tFEPnRX2KzVRPBKKNxvC5IS3VDFWjHsqZlnyoHh0p6SNvJsNiL_Q==', 'llm.example.com'],
        ...['https', '498', '30.001', '203.0.113.7', 'TLSv1.3', 'TLS_AES_128_GCM_SHA256', 'Error'],
        ...['HTTP/1.1', '-', '-', '51235', '-', 'OriginReadTimeout', 'text/html', '412', '-', '-'],
      ].join('\t'),
      [
        ...['2026-11-20', '10:15:32', 'LAX50-P1', '0', '192.0.2.102', 'GET'],
        ...['d111111abcdef8.cloudfront.net', '/v1/models', '000', '-'],
        ...['curl/8.5.0', '-', '-', 'Error'],
        ...['Vr3hcc1KqRTb2ol4Gi1xgFEcOJbQbqpNSgd9avxT3tNIzXwjxVw1ig==', 'llm.example.com'],
        ...['https', '120', '1.500', '-', 'TLSv1.3', 'TLS_AES_128_GCM_SHA256', 'Error'],
        ...['HTTP/1.1', '-', '-', '51236', '-', 'ClientCommError', '-', '-', '-', '-'],
      ].join('\t'),
    ],
  },
  {
    name: 'llama.cpp server (llama-server) with a timing block',
    format: 'llama-cpp',
    records: 10,
    lines: [
      'build: 4524 (6171c9d2) with cc (Ubuntu 13.3.0-6ubuntu2~24.04) 13.3.0 for x86_64-linux-gnu',
      'llama_model_loader: loaded meta data with 29 key-value pairs and 291 tensors from /models/Llama-3.1-8B-Instruct-Q4_K_M.gguf (version GGUF V3 (latest))',
      'llama_model_loader: - kv   0:                       general.architecture str              = llama',
      'main: server is listening on http://127.0.0.1:8080 - starting the main loop',
      'srv  update_slots: all slots are idle',
      'slot launch_slot_: id  0 | task 12 | processing task',
      'slot update_slots: id  0 | task 12 | prompt processing progress, n_past = 512, n_tokens = 512, progress = 1.000000',
      'slot      release: id  0 | task 12 | stop processing: n_past = 640, truncated = 0',
      'slot print_timing: id  0 | task 12 | ',
      'prompt eval time =     120.50 ms /   512 tokens (    0.24 ms per token,  4249.00 tokens per second)',
      '       eval time =    1500.20 ms /   128 tokens (   11.72 ms per token,    85.32 tokens per second)',
      '      total time =    1620.70 ms /   640 tokens',
      'srv  log_server_r: request: POST /v1/chat/completions 127.0.0.1 200',
    ],
  },
  {
    name: 'llama.cpp server with --log-prefix --log-timestamps (a header on every timing line)',
    format: 'llama-cpp',
    records: 5,
    lines: [
      '0.00.012.345 I build: 5000 (abcdef12) with cc (GCC) 14.2.1 for x86_64-pc-linux-gnu',
      '0.01.234.567 I srv  log_server_r: request: GET /health 127.0.0.1 200',
      '1.02.003.004 I slot print_timing: id  1 | task 13 | prompt eval time =      10.00 ms /    10 tokens (    1.00 ms per token,  1000.00 tokens per second)',
      '1.02.003.010 I slot print_timing: id  1 | task 13 |        eval time =      20.00 ms /     2 tokens (   10.00 ms per token,   100.00 tokens per second)',
      '1.02.003.012 I slot print_timing: id  1 | task 13 |       total time =      30.00 ms /    12 tokens',
      '1.02.003.013 I slot print_timing: id  1 | task 13 |    graphs reused =          1',
      '1.02.004.100 W srv    operator(): got exception: {"code":500,"message":"boom"}',
      '1.02.004.200 E srv    send_error: task id = 14, error: the request exceeds the available context size, try increasing it',
    ],
  },
  {
    name: 'llama.cpp server, 2024 text log format (--log-format text)',
    format: 'llama-cpp',
    records: 5,
    lines: [
      'INFO [                    main] build info | tid="140235" timestamp=1710000000 build=2440 commit="abcdef1"',
      'INFO [                    main] HTTP server listening | tid="140235" timestamp=1710000000 n_threads_http="15" port="8080" hostname="127.0.0.1"',
      'INFO [           print_timings] prompt eval time     =     120.50 ms /   512 tokens (    0.24 ms per token,  4249.00 tokens per second) | tid="140235" timestamp=1710000001 id_slot=0 id_task=12 t_prompt_processing=120.5 n_prompt_tokens_processed=512 t_token=0.24 n_tokens_second=4249.0',
      'INFO [           print_timings] generation eval time =    1500.20 ms /   128 runs   (   11.72 ms per token,    85.32 tokens per second) | tid="140235" timestamp=1710000001 id_slot=0 id_task=12 t_token_generation=1500.2 n_decoded=128 t_token=11.72 n_tokens_second=85.32',
      'INFO [           print_timings]           total time =    1620.70 ms | tid="140235" timestamp=1710000001 id_slot=0 id_task=12 t_prompt_processing=120.5 t_token_generation=1500.2 t_total=1620.7',
      'INFO [      log_server_request] request | tid="140236" timestamp=1710000002 remote_addr="127.0.0.1" remote_port=51234 status=200 method="POST" path="/completion" params={}',
      ' ERR [              send_error] task error | tid="140235" timestamp=1710000003 id_task=13 error="context size exceeded"',
    ],
  },
  {
    name: 'plain text with and without timestamps',
    format: 'plain',
    records: 3,
    lines: ['just some words here', 'more words without structure', 'and a third line'],
  },
];

/** nginx custom log_format fixtures (compiled from the format string). */
export const NGINX_CONF = `
http {
    # a comment with log_format inside should not count
    log_format main '$remote_addr - $remote_user [$time_local] "$request" '
                    '$status $body_bytes_sent "$http_referer" '
                    '"$http_user_agent" rt=$request_time rid=$request_id';
    log_format jsonlog escape=json '{"t":"$msec","addr":"$remote_addr","req":"$request",'
        '"st":$status,"rt":$request_time,"ua":"$http_user_agent"}';
    access_log /var/log/nginx/access.log main;
}
`;
