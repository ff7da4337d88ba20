#!/usr/bin/env python3
# Drives `./confer simulate` (the built-in job) in a pseudo-terminal, presses Ctrl-C (writes ^C to the terminal) 3 s
# after round 3 starts, then runs the resume command the CLI printed. The terminal's output goes to a transcript;
# the process's signal dispositions are logged whenever they change (diagnostics).
# Run from the repository root: python3 scripts/pty-interrupt-resume.py transcript.raw (docs/guide.md section 8).
import os, pty, re, sys, time, select, signal
log = open(sys.argv[1], "wb")
def run(argv, interrupt_after=None):
    pid, fd = pty.fork()
    if pid == 0:
        os.environ["TERM"] = "xterm"
        # As an interactive shell starts a foreground job: Ctrl-C delivered, not ignored (a background job ignores it).
        signal.signal(signal.SIGINT, signal.SIG_DFL); signal.signal(signal.SIGQUIT, signal.SIG_DFL); signal.signal(signal.SIGHUP, signal.SIG_DFL)
        os.execvp(argv[0], argv)
    log.write(("$ " + " ".join(argv) + "\n").encode()); buf = b""; sent = None; t0 = time.time(); last = 0; seen = set()
    while True:
        r, _, _ = select.select([fd], [], [], 0.5)
        if r:
            try: data = os.read(fd, 65536)
            except OSError: break
            if not data: break
            log.write(data); log.flush(); buf += data
            if interrupt_after and sent is None and interrupt_after in buf:
                time.sleep(3); os.write(fd, b"\x03"); sent = time.time(); print("sent ^C at", round(sent - t0, 1), flush=True)
        if time.time() - last > 1:
            last = time.time()
            try:
                st = open(f"/proc/{pid}/status").read()
                sig = " ".join(l.split()[1] for l in st.splitlines() if l.startswith(("SigIgn", "SigCgt", "SigBlk")))
                key = (sig, os.tcgetpgrp(fd))
                if key not in seen: seen.add(key); print(round(time.time() - t0, 1), sig, "fg", key[1], "pid", pid, flush=True)
            except Exception as e: pass
    _, status = os.waitpid(pid, 0)
    print("exit", os.waitstatus_to_exitcode(status), "after", round(time.time() - t0, 1), flush=True)
    log.write(f"[exit code {os.waitstatus_to_exitcode(status)}]\n".encode()); log.flush()
    return buf.decode(errors="replace")
out = run(["./confer", "simulate"], interrupt_after=b"round 3/5 client")
m = re.search(r"\./confer simulate --resume \S+", re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", out))
print("resume:", m and m.group(0), flush=True)
if m: run(m.group(0).split())
