! The first line of standard input says what to do (examples/languages/README.md).
program main
  implicit none
  character(len=4096) :: line
  integer :: status
  integer(8) :: n
  integer(1), pointer :: chunk(:)

  read (*, '(A)', iostat=status) line
  if (status /= 0) line = ''
  select case (trim(line))
  case ('hello')
    print '(A)', 'hello world'
  case ('echo')
    do
      read (*, '(A)', iostat=status) line
      if (status /= 0) exit
      write (*, '(A)') trim(line)
    end do
  case ('exit')
    call exit(3)
  case ('spin')
    n = 0
    do
      n = n + 1
    end do
  case ('hog')
    do
      allocate (chunk(1048576))
      chunk = 1
    end do
  end select
end program main
