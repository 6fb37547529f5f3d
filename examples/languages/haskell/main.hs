-- The first line of standard input says what to do (examples/languages/README.md).
import qualified Data.ByteString as B
import System.Exit (ExitCode (ExitFailure), exitWith)
import System.IO (isEOF)

main :: IO ()
main = do
  eof <- isEOF
  command <- if eof then return "" else getLine
  case takeWhile (`notElem` " \r\n") command of
    "hello" -> putStrLn "hello world"
    "echo" -> B.getContents >>= B.putStr
    "exit" -> exitWith (ExitFailure 3)
    "spin" -> spin 0
    "hog" -> hog []
    _ -> return ()

spin :: Int -> IO ()
spin n = spin $! n + 1

hog :: [B.ByteString] -> IO ()
hog chunks = let chunk = B.replicate 1048576 (fromIntegral (length chunks)) in chunk `seq` hog (chunk : chunks)
