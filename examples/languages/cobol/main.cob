*> The first line of standard input says what to do (examples/languages/README.md). Free format, as cobc -free reads it.
IDENTIFICATION DIVISION.
PROGRAM-ID. example.
ENVIRONMENT DIVISION.
INPUT-OUTPUT SECTION.
FILE-CONTROL.
    SELECT input-file ASSIGN TO KEYBOARD ORGANIZATION LINE SEQUENTIAL.
DATA DIVISION.
FILE SECTION.
FD input-file.
01 input-line PIC X(4096).
WORKING-STORAGE SECTION.
01 command PIC X(64) VALUE SPACES.
01 at-end PIC X VALUE "N".
01 chunk USAGE POINTER.
PROCEDURE DIVISION.
    OPEN INPUT input-file
    READ input-file INTO command END-READ
    EVALUATE FUNCTION TRIM(command)
        WHEN "hello"
            DISPLAY "hello world"
        WHEN "echo"
            PERFORM UNTIL at-end = "Y"
                READ input-file
                    AT END MOVE "Y" TO at-end
                    NOT AT END DISPLAY FUNCTION TRIM(input-line TRAILING)
                END-READ
            END-PERFORM
        WHEN "exit"
            MOVE 3 TO RETURN-CODE
        WHEN "spin"
            PERFORM FOREVER
                CONTINUE
            END-PERFORM
        WHEN "hog"
            PERFORM FOREVER
                ALLOCATE 1048576 CHARACTERS INITIALIZED RETURNING chunk
            END-PERFORM
    END-EVALUATE
    CLOSE input-file
    STOP RUN.
