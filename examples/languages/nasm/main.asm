; The first line of standard input says what to do (examples/languages/README.md).
; x86-64 Linux, system calls only: no C library.
        global  _start

        section .data
hello:  db      "hello world", 10

        section .bss
line:   resb    64
buf:    resb    65536

        section .text
_start:
        ; The first line, a byte at a time, so that the rest of the input stays unread for echo.
        xor     r12, r12
.read:  xor     eax, eax                ; read(0, line + r12, 1)
        xor     edi, edi
        lea     rsi, [line + r12]
        mov     edx, 1
        syscall
        cmp     rax, 1
        jne     .got
        cmp     byte [line + r12], 10
        je      .got
        inc     r12
        cmp     r12, 63
        jb      .read
.got:   cmp     r12, 5
        jne     .four
        cmp     dword [line], 'hell'
        jne     done
        cmp     byte [line + 4], 'o'
        je      say_hello
        jmp     done
.four:  cmp     r12, 3
        jne     .other
        cmp     word [line], 'ho'
        jne     done
        cmp     byte [line + 2], 'g'
        je      hog
        jmp     done
.other: cmp     r12, 4
        jne     done
        mov     eax, [line]
        cmp     eax, 'echo'
        je      echo
        cmp     eax, 'exit'
        je      exit3
        cmp     eax, 'spin'
        je      spin
        jmp     done

say_hello:
        mov     eax, 1                  ; write(1, hello, 12)
        mov     edi, 1
        mov     rsi, hello
        mov     edx, 12
        syscall
        jmp     done

echo:   xor     eax, eax                ; read(0, buf, 65536)
        xor     edi, edi
        mov     rsi, buf
        mov     edx, 65536
        syscall
        test    rax, rax
        jle     done
        mov     rdx, rax                ; write(1, buf, n)
        mov     eax, 1
        mov     edi, 1
        mov     rsi, buf
        syscall
        jmp     echo

spin:   jmp     spin

hog:    mov     eax, 9                  ; mmap(0, 1 MiB, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0)
        xor     edi, edi
        mov     esi, 1048576
        mov     edx, 3
        mov     r10d, 0x22
        mov     r8, -1
        xor     r9d, r9d
        syscall
        test    rax, rax
        js      done
        xor     ecx, ecx                ; touch every page
.touch: mov     byte [rax + rcx], 1
        add     ecx, 4096
        cmp     ecx, 1048576
        jb      .touch
        jmp     hog

exit3:  mov     edi, 3
        jmp     quit
done:   xor     edi, edi
quit:   mov     eax, 231                ; exit_group
        syscall
