# Never finishes: stopped by the CPU time limit (time_limit_exceeded).
n = 0
while True:
    n += 1
